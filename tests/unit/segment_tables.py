"""The tables of the segment base besides the day's history, made for a test from its history:
every column the base reads (lib/segment_rules.SEGMENT_COLUMNS) set to one value."""

from __future__ import annotations

import duckdb

from dagster_project.lib.segment_rules import (
    SEGMENT_COLUMNS,
    SEGMENT_TABLE_ROWS,
    SEGMENT_TABLES,
    SEGMENT_TABLES_OF_PEOPLE,
)


def create_segment_tables(
    con: duckdb.DuckDBPyConnection, history: str, value: str, *, skip: tuple[str, ...] = ()
) -> None:
    """Every table of SEGMENT_TABLES but the history and `skip` (aliases), one row per row of
    `history` (a relation with as_of_date and customer_key; per customer for a table of people),
    each column the base reads holding `value` (SQL)."""
    for alias, table in SEGMENT_TABLES.items():
        if alias == "history" or alias in skip:
            continue
        columns = [
            source.removeprefix(f"{alias}.")
            for source in SEGMENT_COLUMNS.values()
            if source.startswith(f"{alias}.")
        ]
        if alias in SEGMENT_TABLE_ROWS:  # the row the base takes (the first recommendation)
            columns.append(SEGMENT_TABLE_ROWS[alias][0])
        values = ", ".join(f"{value} as {column}" for column in columns)
        keys = (
            "distinct customer_key"
            if alias in SEGMENT_TABLES_OF_PEOPLE
            else "as_of_date, customer_key"
        )
        con.execute(f"create table {table} as select {keys}, {values} from {history}")
