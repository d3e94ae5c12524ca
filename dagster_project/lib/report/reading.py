"""Reading the warehouse for the report: a table that does not exist yet (a warehouse before
its first run) reads as an empty frame, so the page can say what is missing instead of failing."""

from __future__ import annotations

from typing import Any

import duckdb
import pandas as pd


def table_exists(con: duckdb.DuckDBPyConnection, qualified: str) -> bool:
    schema, name = qualified.split(".")
    (found,) = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [schema, name],
    ).fetchone()
    return found > 0


def frame_or_empty(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any],
    tables: tuple[str, ...],
    columns: tuple[str, ...],
) -> pd.DataFrame:
    """The query's rows, or an empty frame with `columns` when one of `tables` is missing."""
    if not all(table_exists(con, t) for t in tables):
        return pd.DataFrame(columns=list(columns))
    return con.execute(sql, params).df()
