"""dbt on Spark inside the run's process, as Dagster events, and the Spark side of a dbt asset
(`warehouse.engine: spark`): the raw days handed over before, what was built copied back after.

dagster-dbt runs dbt as a subprocess; on Spark that subprocess would start a Spark of its own,
and a local Spark's metastore (Derby) admits one process. So with `warehouse.engine: spark` dbt
runs here (dbtRunner, dbt-spark's session method takes this process's SparkSession), with the
selection dagster-dbt would give the subprocess, and its node results become the events
dagster-dbt's own stream yields (models' outputs, tests' check results).

The selection and the event conversion are dagster-dbt's own helpers (asset_utils,
DbtCoreCliEventMessage), not its documented API: the lock pins them, and the equivalence test
(tests/e2e/test_spark_equivalence.py) is what tells whether an upgrade kept them.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtProject
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    get_manifest_and_translator_from_dbt_assets,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.clv.spark import ensure_clv_tables
from dagster_project.lib.environment import dbt_target_path
from dagster_project.lib.spark.raw import copy_new_raw_days_to_spark, copy_raw_days
from dagster_project.lib.spark.serving import copy_tables_from_spark, spark_tables

# dbt's structured events that carry a node's result (what dagster-dbt turns into events).
RESULT_EVENTS = {"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"}
SPARK_TARGET = "spark"
FAILED = ("error", "fail")
# What the checks, exports, BI copy and report read of what dbt builds (lib/spark/serving.py).
SERVED_SCHEMAS = ("marts", "pii", "analytics")


def spark_target_path(dbt_target: Path) -> Path:
    """dbt's artefacts and parse state for the spark target, apart from DuckDB's: each target
    keeps its partial parse (a parse for the other target would start from nothing)."""
    return dbt_target / SPARK_TARGET


def dbt_build_on_spark(
    context: dg.AssetExecutionContext,
    project: DbtProject,
    dbt_vars: dict,
    target_path: Path,
) -> Iterator:
    """`dbt build` of the asset's selection on the spark target; raises dg.Failure if it fails."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    params = get_updated_cli_invocation_params_for_context(
        context, manifest={}, dagster_dbt_translator=DagsterDbtTranslator()
    )
    results: list[dict] = []

    def keep_results(event) -> None:
        if event.info.name in RESULT_EVENTS:
            results.append(msg_to_dict(event))

    arguments = [
        "build",
        *params.selection_args,
        "--project-dir",
        str(params.dbt_project.project_dir if params.dbt_project else project.project_dir),
        "--profiles-dir",
        str(project.profiles_dir),
        "--target",
        SPARK_TARGET,
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
        "--vars",
        json.dumps(dbt_vars),
    ]
    indirect = params.indirect_selection
    before = os.environ.get(DBT_INDIRECT_SELECTION_ENV)
    if indirect:
        os.environ[DBT_INDIRECT_SELECTION_ENV] = indirect
    try:
        outcome = dbtRunner(callbacks=[keep_results]).invoke(arguments)
    finally:
        if indirect:
            if before is None:
                os.environ.pop(DBT_INDIRECT_SELECTION_ENV, None)
            else:
                os.environ[DBT_INDIRECT_SELECTION_ENV] = before
    for raw_event in results:
        yield from DbtCoreCliEventMessage(
            raw_event=raw_event, event_history_metadata={}
        ).to_default_asset_events(
            manifest=params.manifest,
            dagster_dbt_translator=params.dagster_dbt_translator,
            context=context,
            target_path=target_path,
            project=project,
        )
    if not outcome.success:
        failures = [
            f"{node.node.name}: {(node.message or node.status).splitlines()[0]}"
            for node in (outcome.result or [])
            if str(getattr(node, "status", "")) in FAILED
        ]
        detail = "; ".join(failures[:3]) or str(outcome.exception or "see dbt's log")
        raise dg.Failure(description=f"dbt build on Spark failed: {detail}", allow_retries=False)


def build_on_spark(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    project: DbtProject,
    dbt_vars: dict,
    *,
    as_of: str | None = None,
) -> Iterator:
    """The asset's dbt build on Spark, between the hand-over and the copy back.

    The days ingest loaded since the last build are handed over first (the marts read raw), dbt
    runs in this process, and the tables built that others read are copied back into the DuckDB
    file (analytics: the as-of day's rows).
    """
    spark = warehouse.spark()
    if as_of is None:
        _hand_over_raw(context, warehouse, spark)
    ensure_clv_tables(spark)
    target_path = spark_target_path(dbt_target_path(Path(warehouse.path)))
    yield from dbt_build_on_spark(context, project, dbt_vars, target_path)
    _serve_built(context, warehouse, spark, as_of)


def copy_redacted_days_to_spark(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, first: date, last: date
) -> None:
    """After an erasure redacted raw rows in the DuckDB file: the days [first, last] of raw again
    on Spark, and the pii views over raw served back again (their copy was made before)."""
    spark = warehouse.spark()
    staging = Path(warehouse.spark_staging)
    with warehouse.connect() as con:
        copy_raw_days(con, spark, first, last, staging)
        views = [
            f"pii.{table.name}"
            for table in spark.catalog.listTables("pii")
            if table.tableType == "VIEW" and not table.isTemporary
        ]
        counts = copy_tables_from_spark(spark, con, views, staging)
    context.log.info(f"raw {first}..{last} copied to Spark again after the erasure; {counts}")


def _hand_over_raw(context: dg.AssetExecutionContext, warehouse: WarehouseResource, spark) -> None:
    with warehouse.connect() as con:
        days = copy_new_raw_days_to_spark(con, spark, Path(warehouse.spark_staging))
    context.log.info(f"raw days handed over to Spark: {days or 'none new'}")


def _serve_built(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, spark, as_of: str | None
) -> None:
    """Copy what the step built on Spark back into the DuckDB file (lib/spark/serving.py)."""
    built = {".".join(key.path) for key in context.selected_asset_keys}
    served = [
        f"{schema}.{name}"
        for schema in SERVED_SCHEMAS
        for name in spark_tables(spark, schema)
        if f"{schema}.{name}" in built
    ]
    # Incremental models keep a set of rows per as-of day: the day's rows go back; the rest
    # (marts, pii, working tables, views) are rebuilt whole, and go back whole.
    by_day = incremental_models(context) if as_of else set()
    staging = Path(warehouse.spark_staging)
    with warehouse.connect() as con:
        counts = copy_tables_from_spark(spark, con, [t for t in served if t not in by_day], staging)
        if as_of:
            days = [t for t in served if t in by_day]
            counts |= copy_tables_from_spark(spark, con, days, staging, date.fromisoformat(as_of))
    context.log.info(f"copied back from Spark into the DuckDB file: {counts}")


def incremental_models(context: dg.AssetExecutionContext) -> set[str]:
    """`schema.table` of the asset's incremental dbt models (as the translator keys them)."""
    manifest, _, _ = get_manifest_and_translator_from_dbt_assets([context.assets_def])
    return {
        f"{node['schema']}.{node.get('alias') or node['name']}"
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["materialized"] == "incremental"
    }
