"""Suites in expectations/ as Dagster asset checks: one result per expectation, and an `error`
failure that stops what comes downstream while a `warn` failure does not.

A small partitioned asset stands in for an analytics table, so the check wiring (the day's rows,
severities, blocking) is tried with real Dagster, real Great Expectations and a real DuckDB file.
The project's own suites are tried on its real tables by the CLI tests.
"""

from __future__ import annotations

import json
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.config import load_settings
from dagster_project.definitions import build_definitions
from dagster_project.defs.quality.suites import suite_checks
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.quality import suites
from dagster_project.lib.warehouse import connect

DAY, OTHER_DAY = "2025-03-31", "2025-02-28"
SCORES = dg.AssetKey(["analytics", "scores"])
partitions = dg.DailyPartitionsDefinition(start_date="2025-01-01")


@dg.asset(key=SCORES, partitions_def=partitions)
def scores() -> None:
    """Stands in for an analytics model: the test writes the table's rows beforehand."""


@dg.asset(deps=[SCORES], partitions_def=partitions)
def downstream() -> None:
    """What a failing `error` expectation must stop (an export, the CLV fit)."""


def write_suite(folder: Path, severity: str) -> None:
    suite = {
        "name": "scores",
        "expectations": [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "score", "min_value": 1, "max_value": 5},
                "meta": {"severity": severity},
            },
            {
                "type": "expect_compound_columns_to_be_unique",
                "kwargs": {"column_list": ["as_of_date", "customer_key"]},
                "meta": {"severity": "error"},
            },
        ],
    }
    (folder / "scores.json").write_text(json.dumps(suite), encoding="utf-8")


def run_day(
    tmp_path: Path, rows: list[tuple[str, str, int]], severity: str, data_docs: str = "failures"
):
    warehouse = tmp_path / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        con.execute("create schema if not exists analytics")
        con.execute(
            "create or replace table analytics.scores (as_of_date date, customer_key varchar, "
            "score integer)"
        )
        con.executemany("insert into analytics.scores values (?, ?, ?)", rows)
    finally:
        con.close()
    folder = tmp_path / "expectations"
    folder.mkdir(exist_ok=True)
    write_suite(folder, severity)
    checks = suite_checks(
        [SCORES, downstream.key], partitions, folder, tmp_path / "data_docs", data_docs
    )
    return dg.materialize(
        [scores, downstream, *checks],
        partition_key=DAY,
        resources={"warehouse": WarehouseResource(path=str(warehouse))},
        raise_on_error=False,
    )


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}


def test_a_good_day_passes_with_one_result_per_expectation(tmp_path: Path):
    # The other day's bad score is not this day's business: a check reads its own day only.
    result = run_day(
        tmp_path,
        [(DAY, "ck_1", 1), (DAY, "ck_2", 5), (OTHER_DAY, "ck_1", 9)],
        "error",
    )
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["rows"].value == 2
    outcomes = evaluation.metadata["expectations"].value
    assert [o["expectation"] for o in outcomes] == [
        "expect_column_values_to_be_between(score)",
        "expect_compound_columns_to_be_unique(as_of_date,customer_key)",
    ]
    assert all(o["success"] and o["unexpected_count"] == 0 for o in outcomes)
    assert materialized(result) == {"analytics/scores", "downstream"}
    # Counted in DuckDB; a suite that passes writes no Data Docs page by default.
    assert evaluation.metadata["validated_by"].value == "duckdb"
    assert "data_docs" not in evaluation.metadata
    assert not (tmp_path / "data_docs" / "index.html").exists()


def test_every_check_goes_to_the_data_docs_when_asked(tmp_path: Path):
    result = run_day(tmp_path, [(DAY, "ck_1", 1), (DAY, "ck_2", 5)], "error", "every_check")
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed
    assert evaluation.metadata["validated_by"].value == "great_expectations"
    # The check links to the Data Docs site its validation was written to.
    index = tmp_path / "data_docs" / "index.html"
    assert evaluation.metadata["data_docs"].value == index.as_uri()
    assert "scores" in index.read_text(encoding="utf-8")


@pytest.mark.parametrize("data_docs", ["failures", "off"])
def test_a_failing_suite_gets_its_data_docs_page_unless_they_are_off(tmp_path, data_docs):
    result = run_day(tmp_path, [(DAY, "ck_1", 1), (DAY, "ck_2", 7)], "error", data_docs)
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    index = tmp_path / "data_docs" / "index.html"
    if data_docs == "failures":
        assert evaluation.metadata["validated_by"].value == "great_expectations"
        assert evaluation.metadata["data_docs"].value == index.as_uri()
        assert "scores" in index.read_text(encoding="utf-8")
    else:
        assert evaluation.metadata["validated_by"].value == "duckdb"
        assert not index.exists()
    # Either way the verdict is the same, and it names the expectation.
    assert "expect_column_values_to_be_between(score) [error]: 1 unexpected" in (
        evaluation.description
    )


def test_an_error_failure_blocks_downstream_and_names_the_expectation(tmp_path: Path):
    result = run_day(tmp_path, [(DAY, "ck_1", 1), (DAY, "ck_2", 7), (DAY, "ck_2", 9)], "error")
    assert not result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert evaluation.description == (
        f"analytics/scores {DAY}: expect_column_values_to_be_between(score) [error]: "
        "2 unexpected; expect_compound_columns_to_be_unique(as_of_date,customer_key) [error]: "
        "2 unexpected"
    )
    between = evaluation.metadata["expectations"].value[0]
    assert between["unexpected_count"] == 2
    assert sorted(between["examples"]) == ["7", "9"]
    assert materialized(result) == {"analytics/scores"}


def test_a_warn_failure_is_recorded_and_nothing_stops(tmp_path: Path):
    result = run_day(tmp_path, [(DAY, "ck_1", 1), (DAY, "ck_2", 7)], "warn")
    assert result.success
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert materialized(result) == {"analytics/scores", "downstream"}


def test_a_suite_that_guards_no_asset_is_refused(tmp_path: Path):
    write_suite(tmp_path, "error")
    with pytest.raises(ValueError, match=r"expectations/scores\.json guards no asset"):
        suite_checks([downstream.key], partitions, tmp_path)


def test_every_analytics_output_has_a_suite(tmp_path: Path):
    """Every table the analytics write, from the graph itself (dbt's models in the analytics
    folder and every asset keyed under analytics, the Python-written ones too), has its suite,
    and each suite becomes a check on its asset."""
    config = tmp_path / "loyalty.yml"
    config.write_text(
        "warehouse: {path: w.duckdb}\n"
        "exports: {tools: [generic], segments: {everyone: {where: 'frequency >= 0'}}}\n",
        encoding="utf-8",
    )
    defs = build_definitions(load_settings(config))
    graph = defs.resolve_asset_graph()
    outputs = {key.path[-1] for key in graph.get_all_asset_keys() if key.path[0] == "analytics"}
    manifest = json.loads((tmp_path / "dbt_target" / "manifest.json").read_text(encoding="utf-8"))
    models = {
        node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["fqn"][1] == "analytics"
    }
    assert {"customer_rfm", "customer_clv", "campaign_results"} <= outputs
    assert models and models <= outputs | {"customer_contactability"}
    assert outputs | models <= set(suites())
    checked = {key.asset_key.path[-1] for key in graph.asset_check_keys if key.name == "gx_suite"}
    assert outputs | models <= checked
