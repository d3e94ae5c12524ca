"""Copying what the warehouse on Spark built back into the DuckDB file, for those who read it.

With `warehouse.engine: spark`, dbt and the CLV build marts, pii and analytics on Spark; the
checks, the segment exports, the BI copy and the report read the DuckDB file as they do with the
embedded engine. So each step that builds on Spark copies its tables back: whole tables (marts,
pii, views), or one as-of day of the tables partitioned by it (analytics), through parquet.
Not the raw history, but the marts whole: the transaction lines too (about 20M rows at a million
card holders over two years), each build.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from dagster_project.lib.warehouse import quote_ident

DAY_COLUMN = "as_of_date"


def spark_tables(spark: Any, schema: str) -> list[str]:
    """Tables and views of a Spark database (none if it does not exist yet)."""
    if not spark.catalog.databaseExists(schema):
        return []
    # dbt-spark leaves session views of its incremental models (<model>__dbt_tmp): temporary.
    return sorted(
        row.tableName
        for row in spark.sql(f"show tables in {schema}").collect()
        if not row.isTemporary
    )


def copy_tables_from_spark(
    spark: Any,
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[str],
    staging: Path,
    as_of: date | None = None,
) -> dict[str, int]:
    """Copy each Spark table (`schema.name`) into the DuckDB file; rows copied per table.

    With `as_of` the tables are those that keep one set of rows per as-of day (incremental
    models, the CLV's): the day's rows replace the day's rows in DuckDB. Without, each table
    replaces its DuckDB copy whole.
    """
    counts = {}
    by_day = as_of is not None
    for table in tables:
        frame = spark.table(table)
        if by_day:
            frame = frame.where(f"{DAY_COLUMN} = date '{as_of.isoformat()}'")
        # The project's tables lead with their day; Spark moves partition columns last.
        columns = sorted(frame.dtypes, key=lambda column: column[0] != DAY_COLUMN)
        # Wall-clock timestamps stay wall-clock in parquet (DuckDB reads them as TIMESTAMP).
        frame = frame.selectExpr(
            *(
                f"cast(`{name}` as timestamp_ntz) as `{name}`"
                if kind == "timestamp"
                else f"`{name}`"
                for name, kind in columns
            )
        )
        folder = staging / table
        shutil.rmtree(folder, ignore_errors=True)
        frame.write.parquet(str(folder))
        files = str(folder / "*.parquet").replace("'", "''")
        schema, name = table.split(".")
        target = f"{quote_ident(schema)}.{quote_ident(name)}"
        con.execute("begin")
        con.execute(f"create schema if not exists {quote_ident(schema)}")
        kinds = con.execute(
            "select table_type from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, name],
        ).fetchall()
        if by_day and kinds == [("BASE TABLE",)]:
            con.execute(f"delete from {target} where {DAY_COLUMN} = ?", [as_of])
            con.execute(f"insert into {target} by name select * from read_parquet('{files}')")
        else:
            if kinds == [("VIEW",)]:
                con.execute(f"drop view {target}")
            con.execute(
                f"create or replace table {target} as select * from read_parquet('{files}')"
            )
        con.execute("commit")
        (counts[table],) = con.execute(f"select count(*) from read_parquet('{files}')").fetchall()[
            0
        ]
        shutil.rmtree(folder, ignore_errors=True)
    return counts
