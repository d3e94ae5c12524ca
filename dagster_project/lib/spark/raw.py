"""Handing the days ingest loaded over to Spark.

Ingest reads, validates and pseudonymises files with DuckDB (its bookkeeping, quarantine and
watermarks stay there); the warehouse on Spark gets each raw table's rows of the days, through
parquet files DuckDB writes and Spark reads, each day a partition of `raw.<table>` replaced
whole (a day loaded again replaces what Spark had of it).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.lib.sources.specs import ALL_RAW_TABLES
from dagster_project.lib.spark.tables import (
    drop_days,
    ensure_day_table,
    overwrite_days,
    schema_ddl,
)
from dagster_project.lib.warehouse import quote_ident

DAY_COLUMN = "partition_date"


def _days(start: date, end: date) -> list[str]:
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def copy_raw_days(
    con: duckdb.DuckDBPyConnection, spark: Any, start: date, end: date, staging: Path
) -> dict[str, int]:
    """Replace the days [start, end] of every raw table on Spark by DuckDB's; rows per table.

    `staging` holds the parquet files on their way (a folder Spark can read: on a cluster, shared
    storage); it is emptied afterwards.
    """
    counts: dict[str, int] = {}
    days = _days(start, end)
    for source in ALL_RAW_TABLES:
        table = f"raw.{source.name}"
        columns = source.raw_columns()
        ensure_day_table(spark, table, columns, DAY_COLUMN)
        folder = staging / source.name
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        selected = (
            f"select * from raw.{quote_ident(source.name)} "
            f"where {DAY_COLUMN} between date '{start}' and date '{end}'"
        )
        (rows,) = con.execute(f"select count(*) from ({selected})").fetchall()[0]
        counts[table] = rows
        # Days with no rows any more lose what Spark had of them; the others are overwritten.
        drop_days(spark, table, DAY_COLUMN, days)
        if rows:
            con.execute(f"copy ({selected}) to '{folder / 'part-0.parquet'}' (format parquet)")
            frame = spark.read.schema(schema_ddl(columns)).parquet(str(folder))
            overwrite_days(spark, table, frame)
        shutil.rmtree(folder, ignore_errors=True)
    return counts


HANDOVER_TABLE = "ops.spark_handover"


def copy_new_raw_days_to_spark(
    con: duckdb.DuckDBPyConnection, spark: Any, staging: Path
) -> tuple[date, date] | None:
    """Copy to Spark the days ingest loaded since the last hand-over; the days copied, if any.

    `ops.ingest_log` stamps every day a load writes (`loaded_at`); the hand-over remembers the
    latest stamp it copied, so a nightly run copies the new day (and any day loaded again), not
    the history.
    """
    con.execute(
        f"create table if not exists {HANDOVER_TABLE} "
        "(handed_at timestamp, loaded_until timestamp, first_day date, last_day date)"
    )
    (until,) = con.execute(f"select max(loaded_until) from {HANDOVER_TABLE}").fetchall()[0]
    first, last, loaded_until = con.execute(
        "select min(partition_date), max(partition_date), max(loaded_at) from ops.ingest_log "
        "where partition_date is not null and (cast(? as timestamp) is null or loaded_at > ?)",
        [until, until],
    ).fetchall()[0]
    if first is None:
        return None
    copy_raw_days(con, spark, first, last, staging)
    con.execute(
        f"insert into {HANDOVER_TABLE} values (current_localtimestamp(), ?, ?, ?)",
        [loaded_until, first, last],
    )
    return first, last
