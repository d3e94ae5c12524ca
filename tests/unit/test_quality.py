"""Great Expectations suites from expectations/, run on DataFrames."""

import json
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.lib.quality import load_suite, suites, validate_frame


def write_suite(folder: Path, expectations: list[dict]) -> Path:
    path = folder / "thing.json"
    path.write_text(json.dumps({"name": "thing", "expectations": expectations}), encoding="utf-8")
    return path


def test_each_expectation_reports_its_outcome_severity_and_examples(tmp_path: Path):
    path = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "score", "min_value": 1, "max_value": 5},
            },
            {
                "type": "expect_column_values_to_not_be_null",
                "kwargs": {"column": "key"},
                "meta": {"severity": "warn"},
            },
            {
                "type": "expect_compound_columns_to_be_unique",
                "kwargs": {"column_list": ["day", "key"]},
            },
        ],
    )
    frame = pd.DataFrame({"score": [1, 5, 7, 9], "key": ["a", "b", None, "d"], "day": ["d1"] * 4})
    outcomes = {o.expectation: o for o in validate_frame(frame, path)}
    between = outcomes["expect_column_values_to_be_between"]
    assert (between.success, between.unexpected_count, between.severity) == (False, 2, "error")
    assert set(between.examples) == {"7", "9"}
    not_null = outcomes["expect_column_values_to_not_be_null"]
    assert (not_null.success, not_null.unexpected_count, not_null.severity) == (False, 1, "warn")
    assert outcomes["expect_compound_columns_to_be_unique"].success


def test_an_unknown_expectation_is_refused_not_dropped(tmp_path: Path):
    path = write_suite(tmp_path, [{"type": "expect_colum_typo", "kwargs": {"column": "a"}}])
    with pytest.raises(
        ValueError, match=r"thing\.json: unknown or invalid expectation expect_colum_typo"
    ):
        validate_frame(pd.DataFrame({"a": [1]}), path)


def test_a_severity_other_than_error_or_warn_is_refused(tmp_path: Path):
    path = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_to_exist",
                "kwargs": {"column": "a"},
                "meta": {"severity": "fatal"},
            }
        ],
    )
    with pytest.raises(ValueError, match=r"meta\.severity must be error or warn, not 'fatal'"):
        load_suite(path)


def test_the_project_suites_load():
    found = suites()
    assert {"customer_rfm", "customer_clv", "customer_lifecycle"} <= set(found)
    for path in found.values():
        assert load_suite(path)["expectations"]
