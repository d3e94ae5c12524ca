"""dbt models as Dagster assets and dbt tests as asset checks.

Asset keys follow the warehouse: `marts/fct_transactions`, and dbt sources map onto the ingest
assets (`raw/pos_tickets`), so the graph runs from landing files to marts. Groups follow the model
folders (staging, intermediate, marts, pii).
"""

import json
import subprocess
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from dagster_project.config import Settings
from dagster_project.defs.automation.freshness import marts_freshness_policy
from dagster_project.defs.engines import DbtBuild, Engine
from dagster_project.defs.resources import DBT_EXECUTABLE, WAREHOUSE_POOL, WarehouseResource
from dagster_project.defs.transform.translator import LoyaltyDbtTranslator
from dagster_project.lib.environment import dbt_environment
from dagster_project.lib.rfm import scheme_cells

# Next to the manifest: the vars and warehouse it was parsed for.
PARSE_STAMP = "loyalty_parse_stamp.json"


def _sources_newer_than(manifest: Path, project_dir: Path) -> bool:
    watched = [project_dir / "dbt_project.yml", project_dir / "profiles.yml"]
    for folder in ("models", "macros", "tests", "snapshots"):
        watched += [p for p in (project_dir / folder).rglob("*") if p.is_file()]
    stamp = manifest.stat().st_mtime
    return any(p.stat().st_mtime > stamp for p in watched if p.exists())


def prepare_manifest(project: DbtProject, warehouse_path: Path, dbt_vars: dict) -> Path:
    """Parse the dbt project when its manifest is missing, older than the project's files, or
    parsed for other vars or another warehouse.

    A fresh clone has no manifest; dagster-dbt needs one to know the models before any run. It
    also copies the parse state next to it into each dbt run, which then re-parses only what
    changed, but everything when the vars or the profile (the warehouse path) differ from those
    parsed here: so they must be the run's own (a full parse takes ~25 s).
    """
    manifest = project.manifest_path
    stamp = manifest.parent / PARSE_STAMP
    wanted = json.dumps({"vars": dbt_vars, "warehouse": str(warehouse_path)}, sort_keys=True)
    if (
        manifest.exists()
        and not _sources_newer_than(manifest, project.project_dir)
        and stamp.exists()
        and stamp.read_text(encoding="utf-8") == wanted
    ):
        return manifest
    completed = subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--quiet",
            "--vars",
            json.dumps(dbt_vars),
            "--project-dir",
            str(project.project_dir),
            "--profiles-dir",
            str(project.profiles_dir),
        ],
        env=dbt_environment(warehouse_path),
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        detail = (completed.stdout + completed.stderr).strip().splitlines()
        raise RuntimeError(f"dbt parse failed: {detail[-1] if detail else 'no output'}")
    stamp.write_text(wanted, encoding="utf-8")
    return manifest


# dagster-dbt's default selection: every model of the project.
EVERY_MODEL = "fqn:*"
ANALYTICS_TAG = "tag:analytics"
# The analytics run dbt, then the CLV fit (Python), then dbt again: the second step is found in
# the graph itself, every model downstream of the table the fit writes.
READS_CLV = "source:analytics.customer_clv+"
ANALYTICS_GROUP = "analytics"


def settings_vars(settings: Settings) -> dict:
    """The dbt vars that come from loyalty.yml (the same on every run, so partial parsing holds)."""
    generic = settings.sources.transactions
    segmentation = settings.segmentation
    return {
        "generic_channel": generic.channel if generic else "store",
        "clv_time_unit": settings.clv.time_unit,
        "rfm_scheme": scheme_cells(segmentation.rfm_segments),
        "tier_cutoffs": segmentation.tiers.model_dump(),
        "pareto_top_share": segmentation.pareto_top_share,
        "profile_min_group_size": segmentation.profile_min_group_size,
        "deal_sensitivity": segmentation.deal_sensitivity.model_dump(),
        "lifecycle": settings.lifecycle.model_dump(),
        "recommendations": settings.recommendations.model_dump(),
        "sensitive_categories": list(settings.privacy.sensitive_categories),
        "margins": settings.margins.model_dump(),
    }


def dbt_models(settings: Settings, project: DbtProject, engine: Engine):
    dbt_vars = settings_vars(settings)
    manifest = prepare_manifest(project, settings.warehouse_path, dbt_vars)

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=LoyaltyDbtTranslator(marts_freshness_policy(settings)),
        select=EVERY_MODEL,
        exclude=ANALYTICS_TAG,
        pool=WAREHOUSE_POOL,
        name="dbt_models",
    )
    def _dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ):
        """Staging views, identity resolution, unified transactions, marts and pii tables."""
        # Marts are not partitioned: a run's days need not reach dbt. The transaction models find
        # what the deliveries since the last build changed (lib/incremental_marts.py).
        build = DbtBuild(project, dbt_vars, EVERY_MODEL, ANALYTICS_TAG)
        yield from engine.build_dbt(context, dbt, warehouse, build)

    return _dbt_models


def _dbt_analytics_assets(
    settings: Settings,
    project: DbtProject,
    partitions: dg.PartitionsDefinition,
    engine: Engine,
    *,
    name: str,
    select: str,
    exclude: str | None,
    description: str,
):
    dbt_vars = settings_vars(settings)
    manifest = prepare_manifest(project, settings.warehouse_path, dbt_vars)

    @dbt_assets(
        manifest=manifest,
        project=project,
        select=select,
        exclude=exclude,
        dagster_dbt_translator=LoyaltyDbtTranslator(),
        partitions_def=partitions,
        # Each day is computed on its own (as_of_date replaces that day's rows), one run per day.
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
        name=name,
    )
    def _dbt_analytics(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ):
        build = DbtBuild(project, dbt_vars, select, exclude, as_of=context.partition_key)
        yield from engine.build_dbt(context, dbt, warehouse, build)

    _dbt_analytics.__doc__ = description
    return _dbt_analytics


def dbt_analytics(
    settings: Settings, project: DbtProject, partitions: dg.PartitionsDefinition, engine: Engine
):
    """The analytics dbt models around the CLV fit: those it reads, and those that read it."""
    return [
        _dbt_analytics_assets(
            settings,
            project,
            partitions,
            engine,
            name="dbt_analytics",
            select=ANALYTICS_TAG,
            exclude=READS_CLV,
            description="Customer purchases and RFM summary, scores, segments, tiers as of the day.",
        ),
        _dbt_analytics_assets(
            settings,
            project,
            partitions,
            engine,
            name="dbt_analytics_after_clv",
            # dbt's intersection: downstream of the CLV and an analytics model.
            select=f"{READS_CLV},{ANALYTICS_TAG}",
            exclude=None,
            description="Lifecycle stages, segment history and KPIs as of the day (read the CLV).",
        ),
    ]
