"""The Spark engine (`warehouse.engine: spark`): dbt and the CLV build in a Spark warehouse,
and what they built is copied back into the DuckDB file, which the checks, exports, BI copy and
report read as with the embedded engine (lib/spark/serving.py). Raw stays where ingest writes
it, in the file; each marts build first hands the days loaded since the last one over to Spark.

dbt runs in this process (dbtRunner), not as dagster-dbt's subprocess: that subprocess would
start a Spark of its own, and a local Spark's metastore (Derby) admits one process. So this is
the one place where the project does what dagster-dbt does for a subprocess, with public pieces
only: the selection is the asset's own (`DbtBuild.select`/`exclude`, or the fqn of each model
a subset selects), and dbt's node results become Dagster events by the keys and check names
the assets declare (the translator's keys, dbt tests' names). The Spark equivalence test
(tests/e2e/test_spark_equivalence.py) proves the tables equal to DuckDB's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource

from dagster_project.defs.engines.base import DbtBuild, as_of_environment
from dagster_project.defs.resources import WarehouseResource
from dagster_project.defs.transform.translator import warehouse_key
from dagster_project.lib.clv import ClvParameters
from dagster_project.lib.clv.on_spark import clv_on_spark, ensure_clv_tables
from dagster_project.lib.clv.run import ClvFits
from dagster_project.lib.environment import dbt_target_path
from dagster_project.lib.spark.raw import copy_new_raw_days_to_spark, copy_raw_days
from dagster_project.lib.spark.serving import copy_tables_from_spark, spark_tables
from dagster_project.lib.spark.session import spark_session, spark_unavailable, stop_spark
from dagster_project.lib.tables import CLV_MODEL_RUNS, CUSTOMER_CLV

SPARK_TARGET = "spark"
# What the checks, exports, BI copy and report read of what dbt builds.
SERVED_SCHEMAS = ("marts", "pii", "analytics")
BUILT = ("model", "seed", "snapshot")


def spark_target_path(dbt_target: Path) -> Path:
    """dbt's artefacts and parse state for the spark target, apart from DuckDB's: each target
    keeps its partial parse (a parse for the other target would start from nothing)."""
    return dbt_target / SPARK_TARGET


def _manifest(build: DbtBuild) -> dict:
    return json.loads(Path(build.project.manifest_path).read_text(encoding="utf-8"))


def _built_nodes(manifest: dict) -> dict[dg.AssetKey, dict]:
    return {
        warehouse_key(node): node
        for node in manifest["nodes"].values()
        if node["resource_type"] in BUILT
    }


def selection_args(context: dg.AssetExecutionContext, build: DbtBuild, manifest: dict) -> list:
    """The asset's own selection, or, for a subset of it, the fqn of each selected model."""
    if set(context.selected_asset_keys) == set(context.assets_def.keys):
        return ["--select", build.select, *(["--exclude", build.exclude] if build.exclude else [])]
    nodes = _built_nodes(manifest)
    fqns = sorted(
        "fqn:" + ".".join(nodes[key]["fqn"]) for key in context.selected_asset_keys if key in nodes
    )
    return ["--select", " ".join(fqns)]


def node_events(context: dg.AssetExecutionContext, manifest: dict, results: list) -> Iterator:
    """dbt's node results as the events of the asset: a materialisation per model built, a
    check result per selected dbt test (its severity: warn, or error)."""
    keys = {node["unique_id"]: key for key, node in _built_nodes(manifest).items()}
    checks = {
        spec.name: spec
        for spec in context.assets_def.check_specs
        if spec.key in context.selected_asset_check_keys
    }
    for result in results:
        node, status = result.node, str(result.status).lower()
        kind = str(node.resource_type).lower()
        if kind in BUILT and status == "success" and node.unique_id in keys:
            yield dg.MaterializeResult(
                asset_key=keys[node.unique_id],
                metadata={"unique_id": node.unique_id, "execution_duration": result.execution_time},
            )
        elif kind == "test" and node.name in checks:
            spec = checks[node.name]
            yield dg.AssetCheckResult(
                asset_key=spec.asset_key,
                check_name=spec.name,
                passed=status == "pass",
                severity=(
                    dg.AssetCheckSeverity.WARN if status == "warn" else dg.AssetCheckSeverity.ERROR
                ),
                metadata={"status": status, "failures": int(result.failures or 0)},
            )


def dbt_build_on_spark(
    context: dg.AssetExecutionContext, build: DbtBuild, target_path: Path
) -> Iterator:
    """`dbt build` of the asset's selection on the spark target; raises dg.Failure if it fails."""
    from dbt.cli.main import dbtRunner

    manifest = _manifest(build)
    arguments = [
        "build",
        *selection_args(context, build, manifest),
        "--project-dir",
        str(build.project.project_dir),
        "--profiles-dir",
        str(build.project.profiles_dir),
        "--target",
        SPARK_TARGET,
        "--target-path",
        str(target_path),
        "--log-path",
        str(target_path),
        "--vars",
        json.dumps(build.vars),
    ]
    with as_of_environment(build.as_of):
        outcome = dbtRunner().invoke(arguments)
    results = list(getattr(outcome.result, "results", None) or [])
    yield from node_events(context, manifest, results)
    if not outcome.success:
        failures = [
            f"{result.node.name}: {(result.message or str(result.status)).splitlines()[0]}"
            for result in results
            if str(result.status).lower() in ("error", "fail")
        ]
        detail = "; ".join(failures[:3]) or str(outcome.exception or "see dbt's log")
        raise dg.Failure(description=f"dbt build on Spark failed: {detail}", allow_retries=False)


@dataclass(frozen=True)
class SparkEngine:
    master: str
    folder: Path
    staging: Path
    warehouse_path: Path
    conf: dict[str, str] = field(default_factory=dict)
    name = "spark"

    def session(self) -> Any:
        """The process's SparkSession (started on first use, stopped by `stop`)."""
        return spark_session(self.master, self.folder, self.conf)

    def unavailable(self) -> str | None:
        return spark_unavailable()

    def describe(self) -> str:
        return f" and Spark ({self.master})"

    def build_dbt(
        self,
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        build: DbtBuild,
    ) -> Iterator:
        """The build between the hand-over of raw (marts) and the copy back of what was built."""
        spark = self.session()
        if build.as_of is None:
            with warehouse.connect() as con:
                days = copy_new_raw_days_to_spark(con, spark, self.staging)
            context.log.info(f"raw days handed over to Spark: {days or 'none new'}")
        ensure_clv_tables(spark)
        target_path = spark_target_path(dbt_target_path(self.warehouse_path))
        yield from dbt_build_on_spark(context, build, target_path)
        self._serve_built(context, warehouse, build)

    def _serve_built(
        self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, build: DbtBuild
    ) -> None:
        """Copy what the step built back into the DuckDB file: incremental models keep a set of
        rows per as-of day, and the day's rows go back; the rest (marts, pii, working tables,
        views) are rebuilt whole, and go back whole."""
        spark = self.session()
        built = {".".join(key.path) for key in context.selected_asset_keys}
        served = [
            f"{schema}.{name}"
            for schema in SERVED_SCHEMAS
            for name in spark_tables(spark, schema)
            if f"{schema}.{name}" in built
        ]
        by_day = (
            {
                ".".join(key.path)
                for key, node in _built_nodes(_manifest(build)).items()
                if node["config"]["materialized"] == "incremental"
            }
            if build.as_of
            else set()
        )
        whole = [table for table in served if table not in by_day]
        with warehouse.connect() as con:
            counts = copy_tables_from_spark(spark, con, whole, self.staging)
            if build.as_of:
                days = [table for table in served if table in by_day]
                as_of = date.fromisoformat(build.as_of)
                counts |= copy_tables_from_spark(spark, con, days, self.staging, as_of)
        context.log.info(f"copied back from Spark into the DuckDB file: {counts}")

    def fit_clv(
        self, warehouse: WarehouseResource, params: ClvParameters, as_of: date, out_dir: Path
    ) -> tuple[ClvFits, pd.DataFrame]:
        spark = self.session()
        run = clv_on_spark(spark, params, as_of, out_dir)
        tables = [CUSTOMER_CLV.qualified, CLV_MODEL_RUNS.qualified]
        with warehouse.connect() as con:
            copy_tables_from_spark(spark, con, tables, self.staging, as_of)
            scores = con.execute(
                f"select * from {CUSTOMER_CLV.qualified} where as_of_date = ?", [as_of]
            ).df()
        return run, scores

    def after_raw_redacted(
        self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, days: tuple
    ) -> None:
        """Spark holds its own copy of raw: the redacted days go over again, and the pii views
        over raw are served back again (their copy was made before)."""
        if not days:
            return
        spark = self.session()
        first, last = days
        with warehouse.connect() as con:
            copy_raw_days(con, spark, first, last, self.staging)
            views = [
                f"pii.{table.name}"
                for table in spark.catalog.listTables("pii")
                if table.tableType == "VIEW" and not table.isTemporary
            ]
            counts = copy_tables_from_spark(spark, con, views, self.staging)
        context.log.info(f"raw {first}..{last} copied to Spark again after the erasure; {counts}")

    def stop(self) -> None:
        # The runs shared one Spark session (a local metastore admits one process): it and its
        # JVM end with them.
        stop_spark()
