"""Connecting to the embedded DuckDB warehouse and creating the tables ingest and Python write."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.sources.specs import ALL_RAW_TABLES, QUARANTINE_COLUMNS, QUARANTINE_REASONS
from dagster_project.lib.tables import PYTHON_TABLES, PythonTable

SCHEMAS = ("raw", "staging", "intermediate", "marts", "analytics", "pii", "quarantine", "ops")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (a column named by a user's mapping may hold anything)."""
    return '"' + name.replace('"', '""') + '"'


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file with settings that never reach the network.

    Extensions DuckDB would otherwise download on first use (httpfs, …) stay off: a run must not
    depend on the internet. json, parquet and icu are built into the Python package.
    """
    config: dict[str, str | bool | int] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only, config=config)


def _column_list(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns)


def _add_missing_columns(
    con: duckdb.DuckDBPyConnection, qualified: str, columns: Iterable[tuple[str, str]]
) -> None:
    """Columns a newer version defines, added to a table an older one made (null in the rows
    already there), so an upgrade needs no reload."""
    schema, name = qualified.split(".")
    present = {
        column
        for (column,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
    }
    for column, sql_type in columns:
        if column not in present:
            con.execute(f"alter table {qualified} add column {quote_ident(column)} {sql_type}")


def ensure_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and every table Python writes, if missing: raw and quarantine (from the
    source registry), and the registry of lib/tables.py (model fits, exports, ops).

    All raw tables exist even for sources a retailer does not deliver, so the dbt models that
    union the sources always find their inputs.
    """
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    quarantined = {source.name for source in ALL_RAW_TABLES}
    for source in ALL_RAW_TABLES:
        con.execute(
            f"create table if not exists raw.{source.name} ({_column_list(source.raw_columns())})"
        )
        # A delivered column a newer version reads (derived ones are added and filled at ingest:
        # lib/sources/load.add_missing_derived_columns).
        derived = {d.name for d in source.derived}
        _add_missing_columns(
            con,
            f"raw.{source.name}",
            [column for column in source.raw_columns() if column[0] not in derived],
        )
    # Shopify order lines and refund lines are quarantined with their order.
    for name in quarantined - {"shopify_order_lines", "shopify_refund_lines"}:
        con.execute(
            f"create table if not exists quarantine.{name} ({_column_list(QUARANTINE_COLUMNS)})"
        )
    for table in PYTHON_TABLES:
        key = f", primary key ({', '.join(table.primary_key)})" if table.primary_key else ""
        con.execute(
            f"create table if not exists {table.qualified} ({_column_list(table.columns)}{key})"
        )
        _add_missing_columns(con, table.qualified, table.columns)
    con.execute(
        "create or replace table ops.quarantine_reasons (reason_code varchar, description varchar)"
    )
    con.executemany(
        "insert into ops.quarantine_reasons values (?, ?)",
        [(r.code, r.description) for r in QUARANTINE_REASONS],
    )


def replace_rows(
    con: duckdb.DuckDBPyConnection, table: PythonTable, frame: pd.DataFrame, match: dict
) -> None:
    """Replace the rows of `table` that match (column = value, for each of `match`) by `frame`'s,
    cast to the table's column types (a column the frame lacks is null, one it adds is left out):
    writing a day, a campaign's day or a file's log again gives the same rows, not twice as many."""
    where = " and ".join(f"{quote_ident(column)} = ${column}" for column in match)
    con.execute(f"delete from {table.qualified} where {where}", match)
    if len(frame):
        con.register("incoming_rows", frame.reindex(columns=table.column_names))
        casts = ", ".join(f"cast({quote_ident(name)} as {kind})" for name, kind in table.columns)
        # Columns named: a table an older version made has the newer columns last.
        names = ", ".join(quote_ident(name) for name in table.column_names)
        con.execute(f"insert into {table.qualified} ({names}) select {casts} from incoming_rows")
        con.unregister("incoming_rows")
