"""The benchmark's verdicts and BENCHMARKS.md's generated part."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.bench.comparisons import pandas_rfm, quintile_score
from dagster_project.bench.growth import exponent, growth_series
from dagster_project.bench.results import BEGIN, END, update_markdown, write_result
from dagster_project.bench.run import sizes_on_disk
from dagster_project.bench.targets import GB, judge


def result(customers: int, days: int, **overrides) -> dict:
    """A result shaped like run_benchmark's, with round numbers."""
    base = {
        "date": "2026-11-30",
        "machine": {
            "cpu": "test cpu",
            "cores": 2,
            "memory_gb": 24.0,
            "python": "3.11",
            "duckdb": "1",
            "dbt-core": "1",
            "dagster": "1",
        },
        "size": {"customers": customers, "days": days, "seed": 42},
        "data": {"files": 10, "rows": 1000, "purchases": 100},
        "runs": {
            "generate": {"seconds": 10.0, "peak_bytes": GB},
            "full_refresh": {"seconds": 600.0, "peak_bytes": 13 * GB},
            "daily": {"seconds": 90.0, "peak_bytes": GB},
        },
        "stages": {
            "full_refresh": {"ingest": 300.0, "dbt": 200.0, "clv": 50.0, "dagster": 50.0},
            "daily": {"dbt": 80.0, "dagster": 10.0},
            "clv": {"holdout": 10.0, "fit": 30.0, "score": 10.0},
        },
        "peak_bytes": {"full_refresh": {"ingest": 2 * GB}, "daily": {"dbt": GB}},
        "comparisons": {
            "summary": {
                "rows": 12_000_000,
                "customers": 10,
                "identical": True,
                "ours_seconds": 2.0,
                "theirs_seconds": 30.0,
                "speedup": 15.0,
            },
            "rfm": {"identical": True, "ours_seconds": 2.0, "theirs_seconds": 6.0, "speedup": 3.0},
            "clv_fit": {
                "customers": customers,
                "rows_fitted": 5,
                "identical": True,
                "largest_relative_difference": 1e-9,
                "ours_seconds": 1.0,
                "theirs_seconds": 8.0,
                "speedup": 8.0,
                "fit_seconds": 45.0,
            },
        },
    }
    base.update(overrides)
    return base


def verdicts(r: dict) -> dict[str, str]:
    return {v["target"]: v["verdict"] for v in judge(r)}


def test_targets_are_judged_at_their_size_and_say_by_how_much_they_are_missed():
    at_scale = verdicts(result(1_000_000, 731))
    assert at_scale["summary_speedup"] == "missed: 15.0×, 1.3× short"
    assert at_scale["clv_fit"] == "met"
    assert at_scale["full_refresh"] == "missed: 600.0s, 1.2× over"
    assert at_scale["peak_memory"] == "missed: 13.0GB, 1.6× over"
    assert at_scale["daily_run"] == "missed: 90.0s, 1.5× over"
    # Below its size a target is not judged, but what this size measured is shown.
    assert at_scale["demo"] == "not at size (610.0s at this size)"
    small = verdicts(result(2_000, 120))
    assert small["full_refresh"] == "not at size (600.0s at this size)"
    assert small["clv_fit"] == "not at size (45.0s at this size)"
    assert small["peak_memory"] == "not at size (13.0GB at this size)"
    assert small["daily_run"] == "not at size (90.0s at this size)"
    # The summary target depends on the rows compared, not on the customers.
    assert small["summary_speedup"].startswith("missed")
    demo = verdicts(result(20_000, 731))
    assert demo["demo"] == "missed: 610.0s, 10.2× over"
    assert at_scale["rfm_speedup"] == "missed: 3.0×, 1.7× short"
    # The floor came later: an older result says it was not measured, a newer one is judged.
    assert at_scale["summary_floor"] == "not measured"
    with_floor = result(1_000_000, 731)
    with_floor["comparisons"]["summary"] |= {
        "floor_seconds": 1.0,
        "floor_identical": True,
        "ours_to_floor": 2.0,
    }
    assert verdicts(with_floor)["summary_floor"] == "missed: 2.0×, 1.3× over"


def test_the_markdown_keeps_the_prose_around_the_results(tmp_path: Path):
    results = tmp_path / "results"
    results.mkdir()
    for customers in (2_000, 1_000_000):
        r = result(customers, 731)
        r["targets"] = judge(r)
        (results / f"{customers}.json").write_text(json.dumps(r))
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"# Intro\n\n{BEGIN}\nold tables\n{END}\n\n## Findings\nkept\n")
    update_markdown(markdown, results)
    text = markdown.read_text()
    assert text.startswith("# Intro\n") and text.endswith("## Findings\nkept\n")
    assert "old tables" not in text
    # Largest size first, each with its stages, comparisons and verdicts.
    assert text.index("1,000,000 customers") < text.index("2,000 customers")
    assert "| ingest | 300.0 | 2.00 |" in text
    assert (
        "| BG/NBD fit, compressed rows vs one row per customer | 1.00 | 8.00 | 8.0× | yes |" in text
    )
    assert "| peak memory of the full refresh < 8 GB | missed: 13.0GB, 1.6× over |" in text
    assert "vs the floor" not in text  # these results predate it
    assert "dbt builds:" not in text  # and the split of the dbt builds
    markdown.write_text("no markers\n")
    with pytest.raises(ValueError, match="marker"):
        update_markdown(markdown, results)


def test_pandas_rfm_scores_by_percent_rank_with_ties_sharing_a_score():
    # Five distinct values score 1..5; ties share the lower score (rank 'min').
    assert quintile_score(pd.Series([10, 20, 30, 40, 50])).tolist() == [1, 2, 3, 4, 5]
    assert quintile_score(pd.Series([1, 1, 1, 5])).tolist() == [1, 1, 1, 5]
    assert quintile_score(pd.Series([7.0])).tolist() == [1]
    purchases = pd.DataFrame(
        {
            "customer_key": ["a", "a", "b", "c", "c", "c"],
            "order_date": pd.to_datetime(
                ["2025-01-01", "2025-01-01", "2025-02-01", "2025-01-05", "2025-02-10", "2025-03-01"]
            ),
            "amount": [10.0, 5.0, 100.0, 20.0, 20.0, 20.0],
        }
    )
    scheme = pd.DataFrame(
        [
            {"r_score": r, "fm_score": fm, "segment": f"R{r}FM{fm}"}
            for r in range(1, 6)
            for fm in range(1, 6)
        ]
    )
    rfm = pandas_rfm(purchases, pd.Timestamp("2025-03-31").date(), scheme).set_index("customer_key")
    # a: one purchase day (same-day orders merged), oldest; c: three days, most recent.
    assert rfm.loc["a", ["r_score", "f_score", "m_score"]].tolist() == [5 - 4, 1, 1]
    assert rfm.loc["c", ["r_score", "f_score", "m_score"]].tolist() == [5, 5, 3]
    assert rfm.loc["b", "m_score"] == 5
    assert rfm.loc["c", "rfm_segment"] == "R5FM4"


def test_pandas_rfm_ties_equal_money_however_the_cents_add_up():
    # 0.1 + 0.2 is not 0.3 in floating point: summed as floats, x would rank above y.
    purchases = pd.DataFrame(
        {
            "customer_key": ["x", "x", "y", "z"],
            "order_date": pd.to_datetime(["2025-01-01", "2025-01-02", "2025-01-01", "2025-01-01"]),
            "amount": [0.1, 0.2, 0.3, 0.3],
        }
    )
    scheme = pd.DataFrame(
        [{"r_score": r, "fm_score": fm, "segment": "s"} for r in range(1, 6) for fm in range(1, 6)]
    )
    rfm = pandas_rfm(purchases, pd.Timestamp("2025-03-31").date(), scheme).set_index("customer_key")
    assert rfm.loc["x", "m_score"] == rfm.loc["y", "m_score"] == rfm.loc["z", "m_score"] == 1


def test_the_dbt_builds_time_to_their_first_result_is_shown_when_measured(tmp_path: Path):
    r = result(2_000, 120)
    r["runs"]["daily"]["dbt_builds"] = {"builds": 3, "seconds": 24.0, "to_first_result": 12.5}
    r["runs"]["daily"]["dbt_nodes"] = {
        "models": 8.5,
        "tests": 2.0,
        "slowest": [{"node": "analytics/customer_rfm", "seconds": 4.25}],
    }
    r["targets"] = judge(r)
    results = tmp_path / "results"
    results.mkdir()
    (results / "r.json").write_text(json.dumps(r))
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"{BEGIN}\n{END}\n")
    update_markdown(markdown, results)
    text = markdown.read_text()
    assert (
        "dbt builds: the daily run's 3 builds took 24.0 s, 12.5 s of it before their first result"
        in text
    )
    assert "dbt's nodes in the daily run, as dbt timed them: models 8.5 s, tests 2.0 s" in text
    assert "the slowest (s): analytics/customer_rfm 4.2." in text


def test_a_daily_run_whose_marts_build_was_whole_says_so(tmp_path: Path):
    results = tmp_path / "results"
    results.mkdir()
    markdown = tmp_path / "BENCHMARKS.md"
    for because, expected in (
        (None, "The daily run's marts build: incremental."),
        ("first build", "The daily run's marts build: **whole** (first build)"),
    ):
        r = result(2_000, 120)
        r["marts_builds"] = [{"whole_because": "first build"}, {"whole_because": because}]
        r["targets"] = judge(r)
        (results / "r.json").write_text(json.dumps(r))
        markdown.write_text(f"{BEGIN}\n{END}\n")
        update_markdown(markdown, results)
        assert expected in markdown.read_text()


def test_a_run_under_a_memory_limit_is_a_result_of_its_own_and_says_so(tmp_path: Path):
    results = tmp_path / "results"
    unlimited = result(1_000_000, 731)
    limited = result(1_000_000, 731)
    limited["size"]["memory_limit"] = "5GB"
    paths = set()
    for r in (unlimited, limited):
        r["targets"] = judge(r)
        paths.add(write_result(r, results))
    assert sorted(p.name for p in paths) == [
        "2026-11-30-1000000c-731d-5GB.json",
        "2026-11-30-1000000c-731d.json",
    ]
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"{BEGIN}\n{END}\n")
    update_markdown(markdown, results)
    text = markdown.read_text()
    assert "### 1,000,000 customers × 731 days, DuckDB limited to 5GB (" in text
    assert "DuckDB memory limit: 5GB." in text
    assert "DuckDB memory limit: its default (80% of the RAM)." in text
    assert "Dagster events recorded" not in text  # these results predate the count
    limited["runs"]["full_refresh"]["events"] = 12_345
    limited["runs"]["daily"]["events"] = 678
    write_result(limited, results)
    update_markdown(markdown, results)
    assert "Dagster events recorded: 12,345 in the full refresh, 678 in the daily run." in (
        markdown.read_text()
    )


def test_a_larger_run_is_not_judged_against_the_million_customer_targets():
    five_million = verdicts(result(5_000_000, 731))
    assert five_million["full_refresh"] == "not at size (600.0s at this size)"
    assert five_million["daily_run"] == "not at size (90.0s at this size)"
    assert five_million["peak_memory"] == "not at size (13.0GB at this size)"
    # A fit of more customers under the limit meets the 1M one; the races go by their rows.
    assert five_million["clv_fit"] == "met"
    assert five_million["summary_speedup"] == "missed: 15.0×, 1.3× short"


def sized(customers: int, rows: int, full_seconds: float, limit: str | None, day: str) -> dict:
    r = result(customers, 731, date=day)
    r["size"]["memory_limit"] = limit
    r["data"] = {"files": 10, "rows": rows, "purchases": rows // 3}
    r["runs"]["full_refresh"]["seconds"] = full_seconds
    r["stages"]["full_refresh"]["ingest"] = full_seconds / 2
    r["targets"] = judge(r)
    return r


def test_growth_compares_the_latest_run_of_each_size_under_one_memory_limit(tmp_path: Path):
    results = tmp_path / "bench" / "results"
    runs = [
        sized(100_000, 1_000_000, 100.0, "5GB", "2026-12-07"),
        sized(1_000_000, 10_000_000, 999.0, "5GB", "2026-12-01"),  # replaced by the later run
        sized(1_000_000, 10_000_000, 1000.0, "5GB", "2026-12-07"),
        sized(5_000_000, 50_000_000, 8000.0, "5GB", "2026-12-08"),
        # Another limit, another series: not mixed in, though its size is the same.
        sized(1_000_000, 10_000_000, 700.0, None, "2026-12-07"),
        sized(2_000, 20_000, 50.0, None, "2026-12-07"),
    ]
    series = growth_series(runs)
    assert [(r["size"]["customers"], r["date"]) for r in series] == [
        (100_000, "2026-12-07"),
        (1_000_000, "2026-12-07"),
        (5_000_000, "2026-12-08"),
    ]
    # Ten times the rows, ten times the time: linear (k = 1); then 5× rows for 8× time.
    assert exponent(100.0, 1000.0, 1_000_000, 10_000_000) == pytest.approx(1.0)
    assert exponent(1000.0, 8000.0, 10_000_000, 50_000_000) == pytest.approx(1.292, abs=1e-3)
    for r in runs:
        write_result(r, results)
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"{BEGIN}\n{END}\n")
    update_markdown(markdown, results)
    text = markdown.read_text()
    assert "### How time and memory grow (731 days, DuckDB limited to 5GB)" in text
    assert "| 1,000,000 | 10,000,000 | 3,333,333 | 10 | 1000 | 13.0 | 90 | 1.0 | 500 |" in text
    assert "| 1,000,000 → 5,000,000 | 5.0× | 8.0× (k = 1.29) | 1.0× (k = 0.00) | 1.0× | 8.0× |" in (
        text
    )
    assert "![Time and peak memory by size](bench/growth.png)" in text
    assert (tmp_path / "bench" / "growth.png").read_bytes().startswith(b"\x89PNG")
    # The growth comes before the results; without two sizes in a series there is none.
    assert text.index("How time and memory grow") < text.index("### 5,000,000 customers")
    assert growth_series([runs[0], runs[-1]]) == []  # different limits
    assert growth_series(runs[1:3]) == []  # one size, twice


def test_a_result_says_what_the_disk_holds_at_its_size(tmp_path: Path):
    data = tmp_path / "data"
    (data / "landing" / "pos" / "2025-01-01").mkdir(parents=True)
    (data / "landing" / "pos" / "2025-01-01" / "tickets.csv").write_bytes(b"x" * 3000)
    (data / "landing" / "members.csv").write_bytes(b"x" * 1000)
    (data / "warehouse.duckdb").write_bytes(b"x" * 500)
    (data / "exports").mkdir()
    disk = sizes_on_disk(data)
    assert disk == {"exports": 0, "landing": 4000, "warehouse.duckdb": 500}
    r = result(2_000, 120)
    r["disk_bytes"] = {"landing": 3 * GB, "warehouse.duckdb": GB // 2}
    r["targets"] = judge(r)
    results = tmp_path / "results"
    write_result(r, results)
    markdown = tmp_path / "BENCHMARKS.md"
    markdown.write_text(f"{BEGIN}\n{END}\n")
    update_markdown(markdown, results)
    assert (
        "On disk after the daily run (GB): landing 3.00, warehouse.duckdb 0.50; 3.50 in all."
        in markdown.read_text()
    )


def test_a_failed_benchmark_keeps_its_folder_for_the_logs(tmp_path: Path, monkeypatch):
    from click.testing import CliRunner

    from dagster_project.bench import __main__ as bench

    folders = []

    def failing(folder: Path, *args, **kwargs):
        folder.mkdir(parents=True)
        (folder / "dbt.log").write_text("Out of disk\n")
        folders.append(folder)
        raise RuntimeError("dbt build failed")

    monkeypatch.setattr(bench, "run_benchmark", failing)
    monkeypatch.setattr(bench.tempfile, "tempdir", str(tmp_path))
    outcome = CliRunner().invoke(bench.main, ["--days", "120", "--results", str(tmp_path / "r")])
    assert isinstance(outcome.exception, RuntimeError)
    (folder,) = folders
    assert (folder / "dbt.log").read_text() == "Out of disk\n"
    assert f"its folder is kept for its logs: {folder}" in outcome.output
    assert not (tmp_path / "r").exists()  # no result for a run that did not finish
