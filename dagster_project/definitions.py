"""The Dagster code location: assembles Definitions from loyalty.yml; nothing else."""

from __future__ import annotations

import dagster as dg

from dagster_project.config import Settings, load_settings
from dagster_project.defs.ingest.assets import ingest_assets
from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.resources import WarehouseResource, dbt_project, dbt_resource
from dagster_project.defs.schedules import daily_schedule
from dagster_project.defs.transform.dbt_assets import dbt_models
from dagster_project.lib.environment import apply_environment

PIPELINE_JOB = "loyalty_pipeline"


def build_definitions(settings: Settings) -> dg.Definitions:
    partitions = daily_partitions(settings)
    project = dbt_project()
    assets = [*ingest_assets(settings, partitions), dbt_models(settings, project)]
    job = dg.define_asset_job(
        PIPELINE_JOB,
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Landing files to marts for a day or a range of days (one run).",
    )
    return dg.Definitions(
        assets=assets,
        jobs=[job],
        schedules=[daily_schedule(settings, job)],
        resources={
            "warehouse": WarehouseResource(
                path=str(settings.warehouse_path),
                timezone=settings.timezone,
                memory_limit=settings.warehouse.memory_limit,
                threads=settings.warehouse.threads,
            ),
            "dbt": dbt_resource(),
        },
        # One step at a time in the run's own process: DuckDB allows one writer per file.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """The code location `dagster dev` loads: loyalty.yml from $LOYALTY_CONFIG or the folder."""
    settings = load_settings()
    apply_environment(settings.config_path, settings.warehouse_path, settings.dagster_home)
    return build_definitions(settings)
