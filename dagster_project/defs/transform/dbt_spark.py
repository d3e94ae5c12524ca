"""dbt on Spark inside the run's process, as Dagster events.

dagster-dbt runs dbt as a subprocess; on Spark that subprocess would start a Spark of its own,
and a local Spark's metastore (Derby) admits one process. So with `warehouse.engine: spark` dbt
runs here (dbtRunner, dbt-spark's session method takes this process's SparkSession), with the
selection dagster-dbt would give the subprocess, and its node results become the events
dagster-dbt's own stream yields (models' outputs, tests' check results).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtProject
from dagster_dbt.asset_utils import (
    DBT_INDIRECT_SELECTION_ENV,
    get_updated_cli_invocation_params_for_context,
)
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from dagster_dbt.dagster_dbt_translator import DagsterDbtTranslator

# dbt's structured events that carry a node's result (what dagster-dbt turns into events).
RESULT_EVENTS = {"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"}
SPARK_TARGET = "spark"
FAILED = ("error", "fail")


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
