"""The embedded engine: dbt (dagster-dbt's subprocess) and the CLV build in the DuckDB file
itself, so there is nothing to copy for the readers."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource

from dagster_project.defs.engines.base import DbtBuild, as_of_environment
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.clv import ClvParameters
from dagster_project.lib.clv.on_duckdb import clv_on_duckdb
from dagster_project.lib.clv.run import ClvRun
from dagster_project.lib.incremental_marts import (
    MartsBuild,
    begin_marts_build,
    fingerprint,
    finish_marts_build,
)

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


class DuckDBEngine:
    name = "duckdb"

    def __init__(self, *, incremental_marts: bool = True):
        self.incremental_marts = incremental_marts

    def unavailable(self) -> str | None:
        return None

    def describe(self) -> str:
        return ""

    def build_dbt(
        self,
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        build: DbtBuild,
    ) -> Iterator:
        """dagster-dbt's `dbt build` of the asset's selection; a failure fails the step with the
        nodes that failed, read from dbt's run_results.json (not from its log lines).

        dagster-dbt gives each invocation a folder of artefacts; a nightly schedule would pile
        them up, so a successful one's is removed (a failed one's stays, with dbt's log)."""
        marts = self._begin_marts_build(context, warehouse, build) if build.as_of is None else None
        arguments = ["build", "--vars", json.dumps(build.vars)]
        if marts is not None and marts.whole:
            arguments.append("--full-refresh")
        with as_of_environment(build.as_of):
            invocation = dbt.cli(arguments, context=context, raise_on_error=False)
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
        if marts is not None:
            with warehouse.connect() as con:
                changed = finish_marts_build(con, marts)
            if not marts.whole:
                context.log.info(f"transactions computed again: {changed}")

    def _begin_marts_build(
        self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, build: DbtBuild
    ) -> MartsBuild:
        """The marts' transaction models are incremental here (lib/incremental_marts.py)."""
        with warehouse.connect() as con:
            marts = begin_marts_build(
                con,
                fingerprint(con, build.project.manifest_path, build.vars),
                incremental=self.incremental_marts,
            )
        context.log.info(
            f"marts build: whole ({marts.whole_because})"
            if marts.whole
            else "marts build: incremental"
        )
        return marts

    def fit_clv(
        self, warehouse: WarehouseResource, params: ClvParameters, as_of: date, out_dir: Path
    ) -> tuple[ClvRun, pd.DataFrame]:
        with warehouse.connect() as con:
            run = clv_on_duckdb(con, params, as_of, out_dir)
        return run, run.scores

    def after_raw_redacted(
        self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, days: tuple
    ) -> None:
        return None  # raw lives only in the file

    def stop(self) -> None:
        return None
