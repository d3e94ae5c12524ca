"""`make bench` at a small size, run as a user runs it: every stage is timed, and each race
against lifetimes and pandas gives the same numbers on both sides."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from dagster_project.bench.results import BEGIN, END
from dagster_project.bench.targets import TARGETS

STAGES = ("ingest", "checks", "dbt", "clv", "exports", "publish", "report", "dagster")


def test_a_small_benchmark_times_every_stage_and_matches_lifetimes_and_pandas(tmp_path: Path):
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"# Benchmarks\n\n{BEGIN}\n{END}\n", encoding="utf-8")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dagster_project.bench",
            "--customers",
            "800",
            "--days",
            "100",
            "--workdir",
            str(tmp_path / "run"),
            "--results",
            str(tmp_path / "results"),
            "--markdown",
            str(markdown),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    (path,) = (tmp_path / "results").glob("*-800c-100d.json")
    result = json.loads(path.read_text())

    full, daily = result["stages"]["full_refresh"], result["stages"]["daily"]
    assert all(full[stage] > 0 for stage in STAGES), full
    assert daily["ingest"] > 0 and daily["dbt"] > 0
    assert set(result["stages"]["clv"]) == {"holdout", "fit", "score"}
    runs = result["runs"]
    assert runs["generate"]["peak_bytes"] > 0 and runs["full_refresh"]["peak_bytes"] > 0
    # The stages account for the run (the rest is Dagster's own bookkeeping, never negative).
    assert full["dagster"] >= 0
    assert abs(sum(full.values()) - runs["full_refresh"]["seconds"]) < 1.0
    # The day's three dbt builds (marts, analytics before and after the CLV), each of which waits
    # a while for its first result, within the dbt stage.
    builds = runs["daily"]["dbt_builds"]
    assert builds["builds"] == 3, builds
    assert 0 < builds["to_first_result"] < builds["seconds"] <= daily["dbt"] + 1e-3, builds
    # The daily run timed a night's build of the marts, not a whole one.
    assert [b["whole_because"] for b in result["marts_builds"]] == ["first build", None]
    # dbt's own timing of the nodes, models and tests (two threads: they may overlap in time).
    nodes = runs["daily"]["dbt_nodes"]
    assert nodes["models"] > 0 and nodes["tests"] > 0, nodes
    assert nodes["slowest"][0]["seconds"] >= nodes["slowest"][-1]["seconds"] > 0, nodes

    # py-spy sampled the runs: the pipeline's entry point is among the busiest of our functions.
    profile = result["profile"]["full_refresh"]
    assert profile["samples"] > 0, result["profile"]
    inclusive = {entry["function"]: entry["share"] for entry in profile["inclusive"]}
    assert "run_pipeline (dagster_project/pipeline.py)" in inclusive, inclusive

    summary = result["comparisons"]["summary"]
    assert summary["rows"] > 1000 and summary["identical"], summary
    assert all(summary["columns_identical"].values())
    rfm = result["comparisons"]["rfm"]
    assert rfm["identical"], rfm
    fit = result["comparisons"]["clv_fit"]
    assert fit["identical"] and fit["largest_relative_difference"] <= 1e-6, fit
    assert fit["rows_fitted"] < fit["customers"]

    assert {v["target"] for v in result["targets"]} == {t.name for t in TARGETS}
    text = markdown.read_text(encoding="utf-8")
    assert "### 800 customers × 100 days" in text
    assert "| **total** |" in text and "| target | verdict |" in text
    assert "(py-spy, self time)" in text
    assert "dbt builds: the full refresh's" in text
    assert "dbt's nodes in the daily run, as dbt timed them" in text
