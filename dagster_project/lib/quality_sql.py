"""A suite's simple expectations counted by SQL inside DuckDB, with Great Expectations' verdicts.

GX validates pandas DataFrames: every checked column of every row of the run's days is copied out
of DuckDB first, and each suite starts a checkpoint. For the expectations below the same verdict
is a few aggregates over the rows where they are: one scan of the batch per suite for the
expectations of single rows (each one an unexpected-row predicate, counted per day), one window
query per uniqueness check. Each follows GX 1.x on pandas:

- missing values are those pandas sees as missing: SQL nulls, and NaN in a float column;
- `not_be_null` counts the missing; `be_in_set`, `not_be_in_set` and `be_between` skip them
  (`strict_min`/`strict_max` make a bound exclusive);
- `compound_columns_to_be_unique` counts every row of a repeated combination (missing values
  equal to each other, as pandas' `duplicated` does), skipping rows by `ignore_row_if`
  (default: all values missing);
- `column_pair_values_a_to_be_greater_than_b` (`or_equal`) counts the rows where the comparison
  does not hold, a missing side included, skipping rows by `ignore_row_if` (default: both
  missing);
- `table_row_count_to_equal` compares the batch's rows.

An expectation with any other type or argument (`mostly`, say) is not translated: the suite then
goes to GX whole. tests/unit/test_quality_sql.py runs every suite of expectations/ both ways on
frames made to break it and requires the same outcomes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import duckdb

from dagster_project.lib.quality import ExpectationOutcome, shown_examples, suite_columns
from dagster_project.lib.warehouse import quote_ident

FLOAT_TYPES = ("FLOAT", "DOUBLE", "REAL")
# The arguments each expectation may carry here; any other means GX decides.
TRANSLATED_ARGUMENTS: dict[str, set[str]] = {
    "expect_column_values_to_not_be_null": {"column"},
    "expect_column_values_to_be_in_set": {"column", "value_set"},
    "expect_column_values_to_not_be_in_set": {"column", "value_set"},
    "expect_column_values_to_be_between": {
        "column",
        "min_value",
        "max_value",
        "strict_min",
        "strict_max",
    },
    "expect_compound_columns_to_be_unique": {"column_list", "ignore_row_if"},
    "expect_column_pair_values_a_to_be_greater_than_b": {
        "column_A",
        "column_B",
        "or_equal",
        "ignore_row_if",
    },
    "expect_table_row_count_to_equal": {"value"},
}
UNIQUE = "expect_compound_columns_to_be_unique"
ROW_COUNT = "expect_table_row_count_to_equal"


@dataclass(frozen=True)
class Counted:
    """One expectation as SQL: the rows it looks at and, among them, the unexpected ones."""

    expectation: dict[str, Any]
    columns: list[str]
    unexpected: str  # a predicate over a row of the batch (for the row count: of the table)
    considered: str = "true"  # rows the expectation skips are not counted at all


def translatable(suite: dict[str, Any]) -> bool:
    """Every expectation of the suite has a type and arguments counted here."""
    for expectation in suite.get("expectations", []):
        allowed = TRANSLATED_ARGUMENTS.get(expectation.get("type"))
        kwargs = expectation.get("kwargs") or {}
        if allowed is None or not set(kwargs) <= allowed:
            return False
    return True


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"


class _Translator:
    def __init__(self, types: dict[str, str], parameters: dict[str, Any]):
        self.types = types
        self.parameters = parameters

    def missing(self, column: str) -> str:
        name = quote_ident(column)
        if self.types.get(column, "").upper() in FLOAT_TYPES:
            return f"({name} is null or isnan({name}))"
        return f"({name} is null)"

    def value_list(self, value: Any) -> list[Any]:
        if isinstance(value, dict) and "$PARAMETER" in value:
            return list(self.parameters[value["$PARAMETER"]])
        return list(value)

    def as_pandas_sees_it(self, column: str) -> str:
        """The column with NaN as null: pandas finds both missing, and equal to each other."""
        name = quote_ident(column)
        if self.types.get(column, "").upper() in FLOAT_TYPES:
            return f"(case when isnan({name}) then null else {name} end)"
        return name

    def in_set(self, column: str, values: list[Any]) -> str:
        if not values:
            return "false"
        return f"{quote_ident(column)} in ({', '.join(_literal(v) for v in values)})"

    def skipped(self, columns: Sequence[str], rule: str) -> str:
        missing = [self.missing(c) for c in columns]
        if rule == "never":
            return "false"
        if rule in ("all_values_are_missing", "both_values_are_missing"):
            return " and ".join(missing)
        if rule in ("any_value_is_missing", "either_value_is_missing"):
            return " or ".join(missing)
        raise ValueError(f"ignore_row_if {rule!r} is not one GX knows")

    def counted(self, expectation: dict[str, Any]) -> Counted:
        kind = expectation["type"]
        kwargs = expectation.get("kwargs") or {}
        columns = suite_columns({"expectations": [expectation]})
        column = kwargs.get("column")
        if kind == "expect_column_values_to_not_be_null":
            return Counted(expectation, columns, self.missing(column))
        if kind in ("expect_column_values_to_be_in_set", "expect_column_values_to_not_be_in_set"):
            inside = self.in_set(column, self.value_list(kwargs["value_set"]))
            outside = kind == "expect_column_values_to_be_in_set"
            return Counted(
                expectation,
                columns,
                f"not ({inside})" if outside else inside,
                f"not {self.missing(column)}",
            )
        if kind == "expect_column_values_to_be_between":
            name = quote_ident(column)
            holds = []
            if kwargs.get("min_value") is not None:
                holds.append(
                    f"{name} {'>' if kwargs.get('strict_min') else '>='} "
                    f"{_literal(kwargs['min_value'])}"
                )
            if kwargs.get("max_value") is not None:
                holds.append(
                    f"{name} {'<' if kwargs.get('strict_max') else '<='} "
                    f"{_literal(kwargs['max_value'])}"
                )
            return Counted(
                expectation,
                columns,
                f"not ({' and '.join(holds) or 'true'})",
                f"not {self.missing(column)}",
            )
        if kind == UNIQUE:
            rule = kwargs.get("ignore_row_if", "all_values_are_missing")
            return Counted(
                expectation, columns, "__repeats > 1", f"not ({self.skipped(columns, rule)})"
            )
        if kind == "expect_column_pair_values_a_to_be_greater_than_b":
            a, b = quote_ident(kwargs["column_A"]), quote_ident(kwargs["column_B"])
            rule = kwargs.get("ignore_row_if", "both_values_are_missing")
            operator = ">=" if kwargs.get("or_equal") else ">"
            return Counted(
                expectation,
                columns,
                f"not coalesce({a} {operator} {b}, false)",
                f"not ({self.skipped(columns, rule)})",
            )
        if kind == ROW_COUNT:
            return Counted(expectation, columns, f"count(*) <> {int(kwargs['value'])}")
        raise ValueError(f"{kind} is not counted by SQL")


def _outcome(
    counted: Counted, total: int, unexpected: int, by_day: list[tuple[str, int]], examples
) -> ExpectationOutcome:
    expectation = counted.expectation
    return ExpectationOutcome(
        expectation=expectation["type"],
        column=",".join(counted.columns) or None,
        severity=(expectation.get("meta") or {}).get("severity", "error"),
        success=unexpected == 0,
        unexpected_count=unexpected,
        element_count=total,
        examples=shown_examples(examples, counted.columns),
        unexpected_by_day=tuple(by_day),
    )


def validate_in_duckdb(
    con: duckdb.DuckDBPyConnection,
    batch_sql: str,
    suite: dict[str, Any],
    *,
    parameters: dict[str, Any] | None = None,
    day_column: str | None = None,
) -> list[ExpectationOutcome]:
    """The outcomes of `suite` (translatable: see `translatable`) on the rows of `batch_sql`, a
    query with no parameters of its own; one per expectation, in the suite's order."""
    types = {row[0]: str(row[1]) for row in con.execute(f"describe {batch_sql}").fetchall()}
    translator = _Translator(types, parameters or {})
    counted = [translator.counted(e) for e in suite.get("expectations", [])]
    by_day = day_column is not None and day_column in types
    day = f"cast({quote_ident(day_column)} as varchar)" if by_day else "null"

    # Repeats of each uniqueness check's combination, as window columns of the batch.
    repeats = {i: c for i, c in enumerate(counted) if c.expectation["type"] == UNIQUE}
    windows = "".join(
        f", sum(case when {c.considered} then 1 else 0 end) over (partition by "
        f"{', '.join(translator.as_pandas_sees_it(col) for col in c.columns)}) as __repeats_{i}"
        for i, c in repeats.items()
    )

    def unexpected_sql(i: int, c: Counted) -> str:
        if i in repeats:
            return f"({c.considered}) and __repeats_{i} > 1"
        return f"({c.considered}) and ({c.unexpected})"

    row_checks = [(i, c) for i, c in enumerate(counted) if c.expectation["type"] != ROW_COUNT]
    counts = ", ".join(
        [f"count(*) filter (where {unexpected_sql(i, c)}) as u{i}" for i, c in row_checks] or ["0"]
    )
    rows = con.execute(
        f"with batch as ({batch_sql}), marked as (select *{windows} from batch) "
        f"select {day} as day, count(*) as n, {counts} from marked group by all order by day"
    ).fetchall()
    total = sum(row[1] for row in rows)
    outcomes: list[ExpectationOutcome | None] = [None] * len(counted)
    for position, (i, c) in enumerate(row_checks):
        per_day = [(row[0], row[2 + position]) for row in rows if row[2 + position]]
        unexpected = sum(n for _, n in per_day)
        examples = []
        if unexpected and len(c.columns) == 1:
            examples = [
                value
                for (value,) in con.execute(
                    f"with batch as ({batch_sql}), marked as (select *{windows} from batch) "
                    f"select {quote_ident(c.columns[0])} from marked "
                    f"where {unexpected_sql(i, c)} limit 3"
                ).fetchall()
            ]
        outcomes[i] = _outcome(c, total, unexpected, per_day if by_day else [], examples)
    for i, c in enumerate(counted):
        if c.expectation["type"] == ROW_COUNT:
            failed = total != int(c.expectation["kwargs"]["value"])
            outcomes[i] = ExpectationOutcome(
                expectation=ROW_COUNT,
                column=None,
                severity=(c.expectation.get("meta") or {}).get("severity", "error"),
                success=not failed,
                unexpected_count=0,
                element_count=total,
                examples=(),
            )
    return [o for o in outcomes if o is not None]
