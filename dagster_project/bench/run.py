"""One benchmark: generate data, run the pipeline as `loyalty run` does, time it, compare.

The run is a full refresh of every day but the last, then the last day alone (what the nightly
schedule does on an existing history). Stage times come from the Dagster event log of those
runs, a py-spy profile of each says which functions the time went to, and the comparisons run
afterwards on the warehouse they left.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from dagster_project.bench import comparisons
from dagster_project.bench.memory import MemorySampler
from dagster_project.bench.profile import sampling_profile, summarise
from dagster_project.bench.timeline import (
    clv_parts,
    dbt_nodes,
    dbt_startup,
    materialization_metadata,
    run_steps,
    run_window,
    stage_of,
)
from dagster_project.cli import DEMO_CONFIG
from dagster_project.config import Settings, load_settings
from dagster_project.defs.analytics.clv import clv_parameters
from dagster_project.defs.resources import DBT_EXECUTABLE, DBT_PROJECT_DIR
from dagster_project.defs.transform.dbt_assets import settings_vars
from dagster_project.lib.environment import dbt_environment
from dagster_project.lib.rfm import scheme_cells
from dagster_project.lib.synthetic import generate
from dagster_project.lib.warehouse import connect
from dagster_project.pipeline import run_pipeline

BENCH_START = date(2024, 1, 1)
RFM_MODEL = "customer_rfm"
# The CLV fit needs 90 days of history (ClvParameters.min_history_days), and a day to spare.
MIN_DAYS = 100


def compiled_model_sql(settings: Settings, model: str, as_of: date) -> str:
    """A dbt model's SQL as the analytics run of `as_of` compiled it (same vars).

    dbt runs in a child process, as in the pipeline: in this one, dbt-duckdb would keep its own
    connection to the warehouse open, and DuckDB refuses a second one with other settings.
    """
    dbt_vars = {**settings_vars(settings), "as_of_date": as_of.isoformat()}
    with tempfile.TemporaryDirectory() as target:
        command = [
            DBT_EXECUTABLE,
            "--quiet",
            "compile",
            "--select",
            model,
            "--vars",
            json.dumps(dbt_vars),
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            "--target-path",
            target,
        ]
        done = subprocess.run(
            command,
            env=dbt_environment(settings.warehouse_path),
            capture_output=True,
            text=True,
            check=False,
        )
        compiled = list(Path(target).glob(f"compiled/**/{model}.sql"))
        if done.returncode != 0 or not compiled:
            raise RuntimeError(f"dbt could not compile {model}: {done.stdout[-500:]}")
        return compiled[0].read_text(encoding="utf-8")


def _run_summary(
    instance: dg.DagsterInstance, run_ids: list[str], memory: MemorySampler
) -> tuple[dict[str, Any], dict[str, float], dict[str, int]]:
    """A pipeline call's total time and peak memory, and its seconds and peak per stage."""
    windows = [run_window(instance, run_id) for run_id in run_ids]
    start, end = windows[0][0], windows[-1][1]
    seconds: dict[str, float] = {}
    peaks: dict[str, int] = {}
    steps = [step for run_id in run_ids for step in run_steps(instance, run_id)]
    for step in steps:
        stage = stage_of(step.key)
        seconds[stage] = seconds.get(stage, 0.0) + step.seconds
        peaks[stage] = max(peaks.get(stage, 0), memory.peak(step.start, step.end))
    # What no step accounts for: Dagster planning, recording events, starting runs.
    seconds["dagster"] = (end - start) - sum(seconds.values())
    total = {
        "seconds": round(end - start, 3),
        "peak_bytes": memory.peak(start, end),
        "dbt_builds": dbt_startup(steps),
        "dbt_nodes": dbt_nodes(instance, run_ids),
        # Dagster writes each event as it happens (one per partition of a day-partitioned
        # asset materialised or planned): a cost that grows with the days, not the customers.
        "events": sum(len(instance.all_logs(run_id)) for run_id in run_ids),
    }
    return total, {k: round(v, 3) for k, v in seconds.items()}, peaks


def run_benchmark(
    workdir: Path,
    customers: int,
    days: int,
    *,
    seed: int = 42,
    memory_limit: str | None = None,
    say: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Generate `customers` over `days` days in `workdir` (emptied first), run and compare.

    `memory_limit` is the run's `warehouse.memory_limit` (DuckDB's own default, 80% of the RAM,
    when None): DuckDB fills what it may as a cache, so a peak says as much about the limit as
    about the work, and a result records the limit it ran under.
    """
    if days < MIN_DAYS:
        raise ValueError(
            f"a benchmark needs at least {MIN_DAYS} days (the CLV fit needs 90 days of history)"
        )
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    end = BENCH_START + timedelta(days=days - 1)
    config = workdir / "loyalty.yml"
    text = DEMO_CONFIG.format(start=BENCH_START.isoformat())
    if memory_limit:
        text += f"\nwarehouse: {{path: data/warehouse.duckdb, memory_limit: '{memory_limit}'}}\n"
        text = text.replace("warehouse: {path: data/warehouse.duckdb}\n", "", 1)
    config.write_text(text, encoding="utf-8")
    settings = load_settings(config)
    if settings.warehouse.memory_limit != memory_limit:
        raise ValueError(f"the bench configuration did not take memory_limit {memory_limit}")
    result: dict[str, Any] = {
        "size": {"customers": customers, "days": days, "seed": seed, "memory_limit": memory_limit}
    }
    with MemorySampler() as memory:
        say(f"generating {customers:,} customers over {days} days")
        began = time.time()
        generated = generate(
            settings.landing_path, customers=customers, start=BENCH_START, end=end, seed=seed
        )
        result["data"] = {
            "files": generated.total_files,
            "rows": generated.total_rows,
            "purchases": generated.purchases,
        }
        generate_window = (began, time.time())
        say(f"full refresh {BENCH_START} .. {end - timedelta(days=1)}")
        with sampling_profile(workdir / "profile_full_refresh.txt") as full_profile:
            full = run_pipeline(settings, BENCH_START, end - timedelta(days=1))
        say(f"daily run {end}")
        with sampling_profile(workdir / "profile_daily.txt") as daily_profile:
            daily = run_pipeline(settings, end, end)
        result["profile"] = {
            name: status.get("error") or summarise(Path(status["output"]))
            for name, status in (("full_refresh", full_profile), ("daily", daily_profile))
        }
        with dg.DagsterInstance.get() as instance:
            full_total, full_stages, full_peaks = _run_summary(instance, full.run_ids, memory)
            daily_total, daily_stages, daily_peaks = _run_summary(instance, daily.run_ids, memory)
            clv = clv_parts(materialization_metadata(instance, full.run_ids[-1]))
        result["runs"] = {
            "generate": {
                "seconds": round(generate_window[1] - generate_window[0], 3),
                "peak_bytes": memory.peak(*generate_window),
            },
            "full_refresh": full_total,
            "daily": daily_total,
        }
        result["stages"] = {"full_refresh": full_stages, "daily": daily_stages, "clv": clv}
        result["peak_bytes"] = {"full_refresh": full_peaks, "daily": daily_peaks}
        result["tables"] = daily.tables
        result["disk_bytes"] = sizes_on_disk(settings.warehouse_path.parent)
        result["marts_builds"] = marts_builds(settings)
        say("comparisons")
        result["comparisons"] = compare(settings, end)
    return result


def sizes_on_disk(folder: Path) -> dict[str, int]:
    """Bytes of each entry of the project's data folder after the runs (the landing files, the
    warehouse, the BI copy, exports, reports): what the machine's disk must hold at this size."""
    sizes = {}
    for entry in sorted(folder.iterdir()):
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes[entry.name] = sum(p.stat().st_size for p in files)
    return sizes


def marts_builds(settings: Settings) -> list[dict[str, Any]]:
    """How each marts build of the runs went, oldest first: whole (and why) or incremental. A
    daily run whose build was whole times a full rebuild of the marts, not a night's."""
    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = con.execute(
            "select whole_because from ops.marts_builds order by started_at"
        ).fetchall()
    finally:
        con.close()
    return [{"whole_because": because} for (because,) in rows]


def compare(settings: Settings, as_of: date) -> dict[str, Any]:
    """The three comparisons on the warehouse as of `as_of`."""
    compiled = compiled_model_sql(settings, RFM_MODEL, as_of)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        purchases = comparisons.read_purchases(con, as_of)
        ours, ours_seconds = comparisons.run_model_sql(con, compiled)
        floor = comparisons.run_floor(con, as_of)
        summary = con.execute(
            'select customer_key, frequency, recency, t as "T", '
            "cast(monetary_value as double) as monetary_value "
            "from analytics.customer_rfm where as_of_date = ? order by customer_key",
            [as_of],
        ).df()
    finally:
        con.close()
    scheme = pd.DataFrame(scheme_cells(settings.segmentation.rfm_segments))
    return {
        "summary": comparisons.compare_summary(purchases, ours, ours_seconds, as_of, floor),
        "rfm": comparisons.compare_rfm(purchases, ours, ours_seconds, as_of, scheme),
        "clv_fit": comparisons.compare_clv_fit(summary, clv_parameters(settings)),
    }
