"""Great Expectations suites from expectations/, run on DataFrames."""

import json
import os
import re
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


def test_parameters_feed_a_referential_check_and_failures_are_counted_per_day(tmp_path: Path):
    path = tmp_path / "tickets.json"
    path.write_text(
        json.dumps(
            {
                "name": "tickets",
                "meta": {
                    "parameters": {"skus": {"distinct_values_of": "raw.catalog_products.sku"}}
                },
                "expectations": [
                    {
                        "type": "expect_column_values_to_be_in_set",
                        "kwargs": {"column": "sku", "value_set": {"$PARAMETER": "skus"}},
                        "meta": {"severity": "warn"},
                    }
                ],
            }
        ),
        encoding="utf-8",
    )
    frame = pd.DataFrame(
        {
            "partition_date": pd.to_datetime(
                ["2025-03-01", "2025-03-02", "2025-03-02", "2025-03-03"]
            ),
            "sku": ["A", "X", "Y", "A"],
        }
    )
    (outcome,) = validate_frame(
        frame, path, parameters={"skus": ["A", "B"]}, day_column="partition_date"
    )
    assert (outcome.success, outcome.unexpected_count) == (False, 2)
    assert outcome.unexpected_by_day == (("2025-03-02", 2),)
    assert sorted(outcome.examples) == ["X", "Y"]


def test_personal_values_reach_neither_examples_nor_data_docs(tmp_path: Path):
    path = write_suite(
        tmp_path,
        [
            {"type": "expect_column_values_to_be_unique", "kwargs": {"column": "email"}},
            {"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "email"}},
            {
                "type": "expect_column_values_to_be_between",
                "kwargs": {"column": "n", "max_value": 1},
            },
        ],
    )
    frame = pd.DataFrame(
        {
            "email": ["ana@example.com", "ana@example.com", None, "luis@example.com"],
            "n": [1, 2, 1, 1],
        }
    )
    docs = tmp_path / "data_docs"
    unique, not_null, between = validate_frame(frame, path, docs_dir=docs)
    # Checked on pseudonymous tokens: duplicates and nulls are still found.
    assert (unique.success, unique.unexpected_count, unique.examples) == (False, 2, ())
    assert (not_null.success, not_null.unexpected_count) == (False, 1)
    assert between.examples == ("2",)
    pages = list(docs.rglob("*.html"))
    assert (docs / "index.html") in pages and len(pages) >= 2
    text = "".join(page.read_text(encoding="utf-8") for page in pages)
    assert "thing" in text  # the suite's page is there
    assert "example.com" not in text
    # Opens offline: no page loads a script, stylesheet, image or font from the network.
    assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']https?://", text)
    styles = "".join(p.read_text(encoding="utf-8") for p in docs.rglob("*.css"))
    assert not re.search(r"url\(\s*[\"']?https?://", styles)
    assert "static/styles/offline.css" in text


def test_data_docs_pages_made_offline_before_are_not_read_again(tmp_path: Path):
    path = write_suite(
        tmp_path, [{"type": "expect_column_values_to_not_be_null", "kwargs": {"column": "n"}}]
    )
    docs = tmp_path / "data_docs"
    validate_frame(pd.DataFrame({"n": [1]}), path, docs_dir=docs)
    # A page from an earlier night (older than the last pass) is left as it is, even one that
    # would be changed: a years-old site is not re-read on every validation.
    (old_page,) = (docs / "validations").rglob("*.html")
    cdn = '<html><head><script src="https://cdn.example.org/x.js"></script></head></html>'
    old_page.write_text(cdn, encoding="utf-8")
    os.utime(old_page, ns=(0, 0))
    validate_frame(pd.DataFrame({"n": [2]}), path, docs_dir=docs)
    assert old_page.read_text(encoding="utf-8") == cdn
    index = (docs / "index.html").read_text(encoding="utf-8")
    assert "static/styles/offline.css" in index
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']https?://", index)


def test_an_undeclared_or_malformed_parameter_is_refused(tmp_path: Path):
    undeclared = write_suite(
        tmp_path,
        [
            {
                "type": "expect_column_values_to_be_in_set",
                "kwargs": {"column": "sku", "value_set": {"$PARAMETER": "skus"}},
            }
        ],
    )
    with pytest.raises(ValueError, match=r"thing\.json: expectation 1 .*'skus' is not in meta"):
        load_suite(undeclared)
    malformed = tmp_path / "other.json"
    malformed.write_text(
        json.dumps({"meta": {"parameters": {"skus": {"distinct_values_of": "sku"}}}}),
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match=r"other\.json: meta\.parameters\.skus must be"):
        load_suite(malformed)
