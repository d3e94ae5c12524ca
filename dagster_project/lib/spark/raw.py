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
