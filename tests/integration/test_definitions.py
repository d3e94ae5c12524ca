"""The Dagster code location loads as `dagster dev` would load it, with its jobs and schedule."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_project.config import load_settings
from dagster_project.definitions import PIPELINE_JOB, build_definitions

REPO = Path(__file__).resolve().parents[2]


def config(tmp_path: Path) -> Path:
    path = tmp_path / "loyalty.yml"
    path.write_text(
        "timezone: Europe/Madrid\nstart_date: 2025-01-01\nwarehouse: {path: w.duckdb}\n"
        "schedule: {cron: '30 5 * * *'}\n",
        encoding="utf-8",
    )
    return path


def test_the_workspace_loads_with_dagsters_own_validator(tmp_path: Path):
    env = {**os.environ, "LOYALTY_CONFIG": str(config(tmp_path))}
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run(
        [str(dagster), "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_graph_runs_from_raw_sources_through_dbt_to_marts(tmp_path: Path):
    defs = build_definitions(load_settings(config(tmp_path)))
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert {
        "raw/pos_tickets",
        "raw/shopify_orders",
        "staging/stg_pos__ticket_lines",
        "marts/fct_transactions",
        "pii/customer_contacts",
    } <= keys
    upstream = {
        k.to_user_string()
        for k in graph.get(dg.AssetKey(["staging", "stg_pos__ticket_lines"])).parent_keys
    }
    assert upstream == {"raw/pos_tickets"}
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "staging", "intermediate", "marts", "pii"} <= groups
    # One job shape for a day, whoever starts it (schedule, landing sensor, `loyalty run`).
    jobs = {job.name for job in defs.resolve_all_job_defs() if not job.name.startswith("__")}
    assert jobs == {PIPELINE_JOB}
    for key in (["raw", "pos_tickets"], ["marts", "fct_transactions"]):
        assert defs.resolve_assets_def(dg.AssetKey(key)).op.pool == "duckdb_warehouse"
    checks = list(graph.asset_check_keys)
    assert any(check.asset_key == dg.AssetKey(["marts", "fct_transactions"]) for check in checks)


def test_the_daily_schedule_loads_the_previous_day_in_the_configured_zone(tmp_path: Path):
    defs = build_definitions(load_settings(config(tmp_path)))
    schedule = defs.resolve_schedule_def("daily_run")
    assert schedule.cron_schedule == "30 5 * * *"
    assert schedule.execution_timezone == "Europe/Madrid"
    when = datetime(2025, 3, 10, 5, 30, tzinfo=ZoneInfo("Europe/Madrid"))
    with dg.build_schedule_context(
        scheduled_execution_time=when, repository_def=defs.get_repository_def()
    ) as context:
        request = schedule.evaluate_tick(context).run_requests[0]
    assert request.partition_key == "2025-03-09"


def test_the_analytics_after_the_clv_fit_are_those_the_dbt_graph_says_read_it(tmp_path: Path):
    """The two dbt steps around the CLV fit come from the graph, not from a hand-kept tag: the
    second holds exactly the analytics models downstream of analytics.customer_clv (walked here
    in the manifest's own child map), and the first every other analytics model."""
    import json

    defs = build_definitions(load_settings(config(tmp_path)))
    steps = {
        assets.op.name: {key.path[-1] for key in assets.keys}
        for assets in defs.assets
        if isinstance(assets, dg.AssetsDefinition)
        and assets.op.name in ("dbt_analytics", "dbt_analytics_after_clv")
    }
    manifest = json.loads((tmp_path / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))
    children, seen = manifest["child_map"], set()
    pending = ["source.loyalty.analytics.customer_clv"]
    while pending:
        for child in children[pending.pop()]:
            if child not in seen:
                seen.add(child)
                pending.append(child)
    analytics = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and "analytics" in node["tags"]
    }
    reading = {
        manifest["nodes"][node]["name"] for node in seen if node.startswith("model.")
    } & analytics
    assert {"customer_lifecycle", "kpi_daily", "segment_transitions"} <= reading
    assert steps["dbt_analytics_after_clv"] == reading
    assert steps["dbt_analytics"] == analytics - reading
