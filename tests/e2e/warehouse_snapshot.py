"""Every warehouse table's rows, to compare two runs (tests import it from their folder)."""

from __future__ import annotations

import duckdb

RUN_TIME_COLUMNS = {
    "ops.ingest_log": " exclude (loaded_at)",
    "analytics.clv_model_runs": " exclude (seconds)",
    "ops.export_log": " exclude (exported_at)",
}

# What each marts build records about itself (when it ran, which transactions it computed again):
# differs from run to run by nature.
BUILD_RECORDS = {"ops.marts_builds", "intermediate.int_transactions_changed"}


def is_as_of_output(table: str) -> bool:
    """Analytics outputs keep one set of rows per as_of_date; a day's run adds its own."""
    return table.startswith("analytics.") or table == "pii.customer_contactability"


def all_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """Every table's rows in a stable order, without the columns that record when or how long,
    and without the builds' own records."""
    names = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('raw', 'quarantine', 'ops', 'staging', 'intermediate', 'marts', "
        "'analytics', 'pii') "
        "order by 1"
    ).fetchall()
    snapshot = {}
    for (name,) in names:
        if name in BUILD_RECORDS:
            continue
        exclude = RUN_TIME_COLUMNS.get(name, "")
        snapshot[name] = con.execute(f"select *{exclude} from {name} order by all").fetchall()
    return snapshot
