"""The day's CLV on Spark: the customers stay where they are, only compressed rows move.

The same steps as on DuckDB (`clv/on_duckdb.py`, the same SQL), arranged for a cluster:
- the purchase summary is compressed on Spark to distinct (frequency, recency, T, spend) rows
  with a weight, and the fits run on the driver on those rows (what a fit uses anyway);
- the holdout check takes the day's purchases to the driver, as on DuckDB;
- scoring runs batch by batch where the customers are (`mapInPandas`), each batch with the
  population figures of the whole (`Population`), so every customer's scores equal DuckDB's;
- the day's partition of analytics.customer_clv and analytics.clv_model_runs is overwritten
  (tables partitioned by as_of_date; created on first use).

It takes the SparkSession it is given (lib/spark/session.py makes one).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.lib.clv.on_duckdb import purchases_sql, summary_sql
from dagster_project.lib.clv.run import ClvFits, fit_clv
from dagster_project.lib.clv.settings import ClvParameters
from dagster_project.lib.clv.summary import WEIGHT_COLUMN
from dagster_project.lib.spark.tables import ensure_day_table, overwrite_days, schema_ddl
from dagster_project.lib.tables import CLV_MODEL_RUNS, CUSTOMER_CLV, PYTHON_TABLES

COMPRESSED_ON = (
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "total_spend",
    "monetary_margin",
    "total_margin",
)


def compressed_summary(summary: Any) -> pd.DataFrame:
    """The Spark summary as distinct rows with a `weight` (how many customers each stands for),
    in a fixed order, each with a made-up unique customer_key (no customer is named)."""
    rows = (
        summary.groupBy(*COMPRESSED_ON)
        .count()
        .withColumnRenamed("count", WEIGHT_COLUMN)
        .orderBy(*COMPRESSED_ON)
        .toPandas()
    )
    return rows.assign(customer_key=[f"row{i}" for i in range(len(rows))])


def _python_value(value: Any, sql_type: str) -> Any:
    """A pandas cell as the Python value Spark's column type takes (None for missing)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return None
    if sql_type == "DATE":
        return value.date() if isinstance(value, datetime) else value
    if sql_type in ("INTEGER", "BIGINT"):
        return int(value)
    if sql_type == "DOUBLE":
        return float(value)
    if sql_type == "BOOLEAN":
        return bool(value)
    return str(value)


def score_on_spark(summary: Any, fits: ClvFits, params: ClvParameters, as_of: date) -> Any:
    """customer_clv rows of every customer of the Spark summary, scored batch by batch."""
    columns = list(CUSTOMER_CLV.columns)
    names = [name for name, _ in columns]
    dates = [name for name, kind in columns if kind == "DATE"]

    def score(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            if batch.empty:
                continue
            scores = fits.score(batch, params, as_of)
            for name in dates:  # Spark's date columns take datetime.date (None when missing)
                scores[name] = [_python_value(day, "DATE") for day in scores[name]]
            yield scores.reindex(columns=names)

    return summary.mapInPandas(score, schema_ddl(columns))


def ensure_clv_tables(spark: Any) -> None:
    """The Python-written tables dbt reads (lib/tables.py: the CLV's), partitioned by
    as_of_date; they exist (empty) before the first build, as in DuckDB."""
    for table in PYTHON_TABLES:
        if table.read_by_dbt:
            ensure_day_table(spark, table.qualified, table.columns)


def clv_on_spark(
    spark: Any,
    params: ClvParameters,
    as_of: date,
    out_dir: Path | None,
    *,
    score_partitions: int | None = None,
) -> ClvFits:
    """The CLV of `as_of` from the Spark tables into them (see the module docstring).

    `score_partitions` spreads the scoring over that many partitions (by default, however
    Spark reads analytics.customer_rfm).
    """
    ensure_clv_tables(spark)
    summary = spark.sql(summary_sql(as_of))
    purchases = spark.sql(purchases_sql(as_of)).toPandas()
    fits = fit_clv(
        params,
        as_of,
        transactions=purchases,
        summary=compressed_summary(summary),
        out_dir=out_dir,
    )
    customers = summary if score_partitions is None else summary.repartition(score_partitions)
    overwrite_days(spark, CUSTOMER_CLV.qualified, score_on_spark(customers, fits, params, as_of))
    runs = pd.DataFrame(fits.runs).reindex(columns=CLV_MODEL_RUNS.column_names)
    rows = [
        [
            _python_value(value, kind)
            for value, (_, kind) in zip(row, CLV_MODEL_RUNS.columns, strict=True)
        ]
        for row in runs.itertuples(index=False)
    ]
    overwrite_days(
        spark,
        CLV_MODEL_RUNS.qualified,
        spark.createDataFrame(rows, schema_ddl(CLV_MODEL_RUNS.columns)),
    )
    return fits
