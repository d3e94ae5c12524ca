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


def _existing_columns(con: duckdb.DuckDBPyConnection) -> dict[str, set[str]]:
    """The columns of every table in the warehouse, by `schema.table` (one catalogue query)."""
    existing: dict[str, set[str]] = {}
    for schema, table, column in con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = current_database()"
    ).fetchall():
        existing.setdefault(f"{schema}.{table}", set()).add(column)
    return existing


def _ensure_table(
    con: duckdb.DuckDBPyConnection,
    existing: dict[str, set[str]],
    qualified: str,
    columns: list[tuple[str, str]],
    *,
    key: str = "",
    added: Iterable[tuple[str, str]] | None = None,
) -> None:
    """Create the table if missing; else add the columns of `added` (default: all) it lacks, which
    a newer version defines (null in the rows already there), so an upgrade needs no reload."""
    if qualified not in existing:
        con.execute(f"create table {qualified} ({_column_list(columns)}{key})")
        return
    for column, sql_type in columns if added is None else added:
        if column not in existing[qualified]:
            con.execute(f"alter table {qualified} add column {quote_ident(column)} {sql_type}")


def ensure_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and every table Python writes, if missing: raw and quarantine (from the
    source registry), and the registry of lib/tables.py (model fits, exports, ops).

    All raw tables exist even for sources a retailer does not deliver, so the dbt models that
    union the sources always find their inputs. Every step's connection calls this: on a
    warehouse that has it all, it reads the catalogue once and writes nothing (a write would make
    each connection's close a checkpoint).
    """
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    existing = _existing_columns(con)
    quarantined = {source.name for source in ALL_RAW_TABLES}
    for source in ALL_RAW_TABLES:
        # Derived columns missing from an older table are added and filled at ingest
        # (lib/sources/load.add_missing_derived_columns).
        derived = {d.name for d in source.derived}
        columns = source.raw_columns()
        _ensure_table(
            con,
            existing,
            f"raw.{source.name}",
            columns,
            added=[column for column in columns if column[0] not in derived],
        )
    # Shopify order lines and refund lines are quarantined with their order.
    for name in sorted(quarantined - {"shopify_order_lines", "shopify_refund_lines"}):
        _ensure_table(con, existing, f"quarantine.{name}", QUARANTINE_COLUMNS, added=())
    for table in PYTHON_TABLES:
        key = f", primary key ({', '.join(table.primary_key)})" if table.primary_key else ""
        _ensure_table(con, existing, table.qualified, table.columns, key=key)
    reasons = [(r.code, r.description) for r in QUARANTINE_REASONS]
    if "ops.quarantine_reasons" not in existing or sorted(
        con.execute("select reason_code, description from ops.quarantine_reasons").fetchall()
    ) != sorted(reasons):
        con.execute(
            "create or replace table ops.quarantine_reasons "
            "(reason_code varchar, description varchar)"
        )
        con.executemany("insert into ops.quarantine_reasons values (?, ?)", reasons)


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
