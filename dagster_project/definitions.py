"""The Dagster code location: assembles Definitions from loyalty.yml; nothing else."""

from __future__ import annotations

import dagster as dg

from dagster_project.config import Settings, load_settings
from dagster_project.defs.analytics.clv import customer_clv_asset
from dagster_project.defs.automation.landing_sensor import landing_sensor
from dagster_project.defs.automation.schedule import daily_schedule
from dagster_project.defs.engines import engine_for
from dagster_project.defs.exports.assets import (
    EXPORTS_GROUP,
    campaign_results_asset,
    exports_asset,
)
from dagster_project.defs.ingest.assets import INGEST_GROUP, ingest_assets
from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.plans.assets import PLANS_GROUP, plan_progress_asset
from dagster_project.defs.privacy.assets import erasure_asset
from dagster_project.defs.publish.assets import PUBLISH_GROUP, publish_asset
from dagster_project.defs.quality.suites import suite_checks
from dagster_project.defs.quality.volume import volume_checks
from dagster_project.defs.report.assets import customer_report_asset
from dagster_project.defs.resources import WarehouseResource, dbt_project, dbt_resource
from dagster_project.defs.transform.dbt_assets import ANALYTICS_GROUP, dbt_analytics, dbt_models
from dagster_project.lib.environment import apply_environment, dbt_target_path

PIPELINE_JOB = "loyalty_pipeline"
# Parts of a day's job that run alone: the landing files of earlier days (a backfill of the
# ingest assets, which loads a range of days in one run), and the analytics of another as-of day
# from what is loaded (`loyalty history`).
LOAD_DAYS = dg.AssetSelection.groups(INGEST_GROUP)
AS_OF_DAY = dg.AssetSelection.groups(ANALYTICS_GROUP, EXPORTS_GROUP, PLANS_GROUP, PUBLISH_GROUP)


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = daily_partitions(settings)
    project = dbt_project(dbt_target_path(settings.warehouse_path))
    # The engine is chosen here, once: the assets call it and never ask which one it is.
    engine = engine_for(settings)
    models = dbt_models(settings, project, engine)
    assets = [
        *ingest_assets(settings, partitions),
        models,
        *dbt_analytics(settings, project, partitions, engine),
        # The Python assets find the keys of the dbt models they read by the models' names
        # (dagster-dbt's get_asset_key_for_model, from the project's manifest `models` carries).
        erasure_asset(settings, engine, models),
        customer_clv_asset(settings, partitions, engine, models),
        exports_asset(settings, partitions, models),
        campaign_results_asset(settings, partitions, models),
        plan_progress_asset(settings, partitions, models),
        publish_asset(settings, partitions),
        customer_report_asset(settings, partitions, models),
    ]
    asset_keys = [key for a in assets for key in a.keys]
    checks = [
        *suite_checks(
            asset_keys,
            partitions,
            docs_dir=settings.resolve(settings.reports_dir) / "data_docs",
            data_docs=settings.quality.data_docs,
        ),
        *volume_checks(asset_keys, partitions),
    ]
    job = dg.define_asset_job(
        PIPELINE_JOB,
        selection=dg.AssetSelection.all(),
        description=(
            "A day, in one run: its landing files into raw and quarantine, the marts (dbt build), "
            "the erasures, the analytics as of that day, its segment files, the copy BI tools "
            "read and the customer report. The schedule, the landing sensor and `loyalty run` "
            "all start this job."
        ),
    )
    return dg.Definitions(
        assets=assets,
        asset_checks=checks,
        jobs=[job],
        schedules=[daily_schedule(settings, job)],
        sensors=[landing_sensor(settings, job)],
        resources={
            "warehouse": WarehouseResource(
                path=str(settings.warehouse_path),
                timezone=settings.timezone,
                memory_limit=settings.warehouse.memory_limit,
            ),
            "dbt": dbt_resource(project),
        },
        # One step at a time in the run's own process: DuckDB allows one writer per file.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location `dagster dev` loads: loyalty.yml from $LOYALTY_CONFIG or the folder."""
    settings = load_settings()
    apply_environment(settings)
    return build_definitions(settings)
