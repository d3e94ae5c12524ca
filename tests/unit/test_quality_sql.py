"""The suites counted by SQL in DuckDB (lib/quality_sql.py) give Great Expectations' own outcomes.

Every suite of expectations/ (the list is the folder, not typed here) is run both ways on a table
made to break it: values on and beyond each bound, outside and inside each set, repeated
combinations, missing values as SQL nulls and as NaN, rows on two days. The outcomes must agree
expectation by expectation: verdict, unexpected and element counts, unexpected rows per day.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.quality import load_suite, suites, validate_frame
from dagster_project.lib.quality_sql import translatable, validate_in_duckdb

ROWS = 60
DAYS = (date(2025, 3, 1), date(2025, 3, 2))
PARAMETER_VALUES = ["p1", "p2", "p3"]


def _pools(suite: dict) -> dict[str, list]:
    """Each column the suite reads: how to fill it (numbers near its bounds, or values of its
    sets, or a small pool of text so combinations repeat)."""
    pools: dict[str, list] = {}
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        kind = expectation["type"]
        if kind == "expect_column_values_to_be_between":
            bounds = [kwargs.get("min_value"), kwargs.get("max_value")]
            edges = [b + d for b in bounds if b is not None for d in (-1, 0, 1)]
            pools[kwargs["column"]] = [*edges, 0.5]
        elif kind == "expect_column_pair_values_a_to_be_greater_than_b":
            for column in (kwargs["column_A"], kwargs["column_B"]):
                dated = column.endswith(("_date", "_at", "_on"))
                pool = [date(2025, 2, 27), *DAYS, date(2025, 3, 3)] if dated else [1.0, 2.0, 3.0]
                pools.setdefault(column, pool)
        elif kind.endswith("_in_set"):
            values = kwargs["value_set"]
            if isinstance(values, dict):
                values = PARAMETER_VALUES
            other = [True] if all(isinstance(v, bool) for v in values) else ["zz_other"]
            if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
                other = [max(values) + 1]
            pools[kwargs["column"]] = list(values) + other
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        for column in [kwargs.get("column"), *(kwargs.get("column_list") or [])]:
            if column:
                pools.setdefault(column, ["a", "b"])
    return pools


def _table(con: duckdb.DuckDBPyConnection, suite: dict, day_column: str, seed: int) -> None:
    rng = np.random.default_rng(seed)
    columns: dict[str, list] = {day_column: [DAYS[i % 2] for i in range(ROWS)]}
    for column, pool in _pools(suite).items():
        if column == day_column:
            continue
        values = [pool[j] for j in rng.integers(0, len(pool), ROWS)]
        missing = rng.random(ROWS) < 0.1
        columns[column] = [None if m else v for v, m in zip(values, missing, strict=True)]
    frame = pd.DataFrame(columns)
    con.register("made", frame)
    con.execute("create or replace table batch as select * from made")
    # NaN, which pandas counts as missing and SQL does not, in every float column.
    for name, kind in con.execute(
        "select column_name, column_type from (describe batch)"
    ).fetchall():
        if kind == "DOUBLE":
            con.execute(f"update batch set \"{name}\" = 'nan'::double where rowid % 7 = 3")


def _comparable(outcome) -> tuple:
    return (
        outcome.name,
        outcome.severity,
        outcome.success,
        outcome.unexpected_count,
        outcome.element_count,
        outcome.unexpected_by_day,
    )


SUITES = suites()


@pytest.mark.parametrize("name", sorted(SUITES))
def test_sql_and_great_expectations_agree_on_every_suite(name: str, tmp_path: Path):
    path = SUITES[name]
    suite = load_suite(path)
    assert translatable(suite), f"{name}: an expectation SQL does not count (GX would run it)"
    day_column = "partition_date" if suite["meta"]["guards"].startswith("raw/") else "as_of_date"
    parameters = {p: PARAMETER_VALUES[:2] for p in (suite["meta"].get("parameters") or {})}
    con = duckdb.connect()
    try:
        for seed in (1, 2):
            _table(con, suite, day_column, seed)
            frame = con.execute("select * from batch").df()
            by_gx = validate_frame(frame, path, parameters=parameters, day_column=day_column)
            by_sql = validate_in_duckdb(
                con, "select * from batch", suite, parameters=parameters, day_column=day_column
            )
            # GX returns its results in an order of its own.
            assert sorted(map(_comparable, by_sql)) == sorted(map(_comparable, by_gx))
            # The made table breaks something: the agreement is not only on passing suites.
            assert seed == 2 or any(not o.success for o in by_gx) or len(suite["expectations"]) == 0
    finally:
        con.close()
