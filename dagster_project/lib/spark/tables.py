"""Spark tables of the warehouse: parquet, partitioned by a day column, replaced a day at a time
(what `delete` + `insert` of the day's rows is on DuckDB)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

_SPARK_TYPES = {"VARCHAR": "string"}


def spark_type(sql_type: str) -> str:
    """The Spark SQL type of one of our DuckDB column types (VARCHAR is Spark's string)."""
    return _SPARK_TYPES.get(sql_type, sql_type.lower())


def schema_ddl(columns: Iterable[tuple[str, str]]) -> str:
    """`name type, …` in Spark's DDL (a table definition, or a DataFrame schema)."""
    return ", ".join(f"`{name}` {spark_type(kind)}" for name, kind in columns)


def ensure_day_table(
    spark: Any, table: str, columns: Iterable[tuple[str, str]], day_column: str = "as_of_date"
) -> None:
    """`table` as parquet partitioned by `day_column`, if it does not exist yet."""
    spark.sql(f"create database if not exists {table.split('.')[0]}")
    spark.sql(
        f"create table if not exists {table} ({schema_ddl(columns)}) using parquet "
        f"partitioned by ({day_column})"
    )


def overwrite_days(spark: Any, table: str, frame: Any) -> None:
    """Replace the day partitions `frame` holds and leave the others alone."""
    spark.conf.set("spark.sql.sources.partitionOverwriteMode", "dynamic")
    # insertInto matches columns by position: the table's order (the partition column last).
    frame.select(*spark.table(table).columns).write.insertInto(table, overwrite=True)


def drop_days(spark: Any, table: str, day_column: str, days: Iterable[str]) -> None:
    """Drop the partitions of `days` (ISO dates) that exist: a day whose rows are all gone."""
    existing = {row[0].split("=", 1)[1] for row in spark.sql(f"show partitions {table}").collect()}
    for day in sorted(set(days) & existing):
        spark.sql(f"alter table {table} drop if exists partition ({day_column} = date '{day}')")
