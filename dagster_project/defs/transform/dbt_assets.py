"""dbt models as Dagster assets and dbt tests as asset checks.

Asset keys follow the warehouse: `marts/fct_transactions`, and dbt sources map onto the ingest
assets (`raw/pos_tickets`), so the graph runs from landing files to marts. Groups follow the model
folders (staging, intermediate, marts, pii).
"""

import contextlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from dagster_project.config import Settings
from dagster_project.defs.automation.freshness import marts_freshness_policy
from dagster_project.defs.resources import DBT_EXECUTABLE, WAREHOUSE_POOL, WarehouseResource
from dagster_project.defs.transform.dbt_spark import build_on_spark
from dagster_project.lib.environment import dbt_environment
from dagster_project.lib.rfm import scheme_cells

MARTS_GROUP = "marts"
# Next to the manifest: the vars and warehouse it was parsed for.
PARSE_STAMP = "loyalty_parse_stamp.json"
AS_OF_ENV = "LOYALTY_AS_OF_DATE"


@contextlib.contextmanager
def as_of_environment(as_of_date: str) -> Iterator[None]:
    """LOYALTY_AS_OF_DATE for the dbt run started inside (its macro `as_of_date` reads it)."""
    before = os.environ.get(AS_OF_ENV)
    os.environ[AS_OF_ENV] = as_of_date
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(AS_OF_ENV, None)
        else:
            os.environ[AS_OF_ENV] = before


class LoyaltyDbtTranslator(DagsterDbtTranslator):
    def __init__(self, marts_freshness: dg.FreshnessPolicy | None = None):
        super().__init__()
        self._marts_freshness = marts_freshness

    def get_asset_spec(self, manifest, unique_id, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        if self._marts_freshness is not None and spec.group_name == MARTS_GROUP:
            spec = dg.apply_freshness_policy(spec, self._marts_freshness)
        return spec

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["schema"], dbt_resource_props["identifier"]])
        alias = dbt_resource_props.get("alias") or dbt_resource_props["name"]
        return dg.AssetKey([dbt_resource_props["schema"], alias])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        # fqn = [project, folder, ...]; the first folder under models/ is the layer.
        return fqn[1] if len(fqn) > 2 else "dbt"


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


ANALYTICS_TAG = "tag:analytics"
# The analytics run dbt, then the CLV fit (Python), then dbt again: the second step is found in
# the graph itself, every model downstream of the table the fit writes.
READS_CLV = "source:analytics.customer_clv+"
ANALYTICS_GROUP = "analytics"


# What dbt's run_results.json calls a node that did not pass.
FAILED_STATUSES = ("error", "fail", "runtime error")


def failed_nodes(run_results: dict) -> str:
    """The first nodes that failed, from dbt's run_results.json: `name: first line of message`."""
    failures = [
        # unique_id is <type>.<package>.<name>[.<hash of a test>]
        f"{result['unique_id'].split('.')[2]}: "
        f"{(result.get('message') or result['status']).splitlines()[0]}"
        for result in run_results.get("results", [])
        if str(result.get("status", "")).lower() in FAILED_STATUSES
    ]
    return "; ".join(failures[:3])


def dbt_build(dbt: DbtCliResource, context: dg.AssetExecutionContext, dbt_vars: dict) -> Iterator:
    """`dbt build` of the asset's selection, as Dagster events; a failure fails the step with
    the nodes that failed, read from dbt's run_results.json (not from its log lines).

    dagster-dbt gives each invocation a folder of artefacts; a nightly schedule would pile them up,
    so a successful one's is removed (a failed one's stays, with dbt's log, to read).
    """
    invocation = dbt.cli(
        ["build", "--vars", json.dumps(dbt_vars)], context=context, raise_on_error=False
    )
    yield from invocation.stream()
    if not invocation.is_successful():
        try:
            detail = failed_nodes(invocation.get_artifact("run_results.json"))
        except FileNotFoundError:
            detail = ""
        where = invocation.target_path / "dbt.log"
        raise dg.Failure(
            description=f"dbt build failed: {detail or f'see {where}'}", allow_retries=False
        )
    shutil.rmtree(invocation.target_path, ignore_errors=True)


def build_on_engine(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    warehouse: WarehouseResource,
    project: DbtProject,
    dbt_vars: dict,
    *,
    as_of: str | None = None,
) -> Iterator:
    """`dbt build` of the asset's selection on the warehouse's engine: dagster-dbt's subprocess on
    DuckDB, this process on Spark (`dbt_spark.build_on_spark`)."""
    if warehouse.on_spark:
        yield from build_on_spark(context, warehouse, project, dbt_vars, as_of=as_of)
    else:
        yield from dbt_build(dbt, context, dbt_vars)


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
        "lifecycle": settings.lifecycle.model_dump(),
    }


def dbt_models(settings: Settings, project: DbtProject):
    dbt_vars = settings_vars(settings)
    manifest = prepare_manifest(project, settings.warehouse_path, dbt_vars)

    @dbt_assets(
        manifest=manifest,
        project=project,
        dagster_dbt_translator=LoyaltyDbtTranslator(marts_freshness_policy(settings)),
        exclude=ANALYTICS_TAG,
        pool=WAREHOUSE_POOL,
        name="dbt_models",
    )
    def _dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
    ):
        """Staging views, identity resolution, unified transactions, marts and pii tables."""
        # Marts are rebuilt whole from raw, so they are not partitioned: a run's days need not
        # reach dbt.
        yield from build_on_engine(context, dbt, warehouse, project, dbt_vars)

    return _dbt_models


def _dbt_analytics_assets(
    settings: Settings,
    project: DbtProject,
    partitions: dg.PartitionsDefinition,
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
        with as_of_environment(context.partition_key):
            yield from build_on_engine(
                context, dbt, warehouse, project, dbt_vars, as_of=context.partition_key
            )

    _dbt_analytics.__doc__ = description
    return _dbt_analytics


def dbt_analytics(settings: Settings, project: DbtProject, partitions: dg.PartitionsDefinition):
    """The analytics dbt models around the CLV fit: those it reads, and those that read it."""
    return [
        _dbt_analytics_assets(
            settings,
            project,
            partitions,
            name="dbt_analytics",
            select=ANALYTICS_TAG,
            exclude=READS_CLV,
            description="Customer purchases and RFM summary, scores, segments, tiers as of the day.",
        ),
        _dbt_analytics_assets(
            settings,
            project,
            partitions,
            name="dbt_analytics_after_clv",
            # dbt's intersection: downstream of the CLV and an analytics model.
            select=f"{READS_CLV},{ANALYTICS_TAG}",
            exclude=None,
            description="Lifecycle stages, segment history and KPIs as of the day (read the CLV).",
        ),
    ]
