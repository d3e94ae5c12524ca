"""A day's CLV between the warehouse tables: read the purchase summary and purchases of the day
(analytics.customer_rfm, analytics.customer_purchases), fit, score, and replace the day's rows of
analytics.customer_clv and analytics.clv_model_runs.

This is the embedded DuckDB warehouse; `clv/on_spark.py` does the same on Spark with the same SQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb

from dagster_project.lib.clv.run import ClvRun, run_clv
from dagster_project.lib.clv.settings import ClvParameters
from dagster_project.lib.tables import CLV_MODEL_RUNS, CUSTOMER_CLV
from dagster_project.lib.warehouse import replace_rows

# Plain SQL both engines read alike (an ISO date literal, an alias in the case lifetimes uses).
SUMMARY_SQL = """
select customer_key, frequency, recency, t as T,
       cast(monetary_value as double) as monetary_value,
       cast(total_net_amount as double) as total_spend,
       cast(monetary_margin_value as double) as monetary_margin,
       cast(total_margin_amount as double) as total_margin
from analytics.customer_rfm where as_of_date = date '{as_of}'
"""
PURCHASES_SQL = """
select customer_key, order_date as date, cast(purchase_amount as double) as amount
from analytics.customer_purchases where as_of_date = date '{as_of}'
order by customer_key, order_date, transaction_id
"""


def summary_sql(as_of: date) -> str:
    return SUMMARY_SQL.format(as_of=as_of.isoformat())


def purchases_sql(as_of: date) -> str:
    return PURCHASES_SQL.format(as_of=as_of.isoformat())


def clv_on_duckdb(
    con: duckdb.DuckDBPyConnection, params: ClvParameters, as_of: date, out_dir: Path | None
) -> ClvRun:
    """The CLV of `as_of` from the warehouse's tables into them (see the module docstring)."""
    summary = con.execute(summary_sql(as_of) + " order by customer_key").df()
    purchases = con.execute(purchases_sql(as_of)).df()
    run = run_clv(params, as_of, transactions=purchases, summary=summary, out_dir=out_dir)
    replace_rows(con, CUSTOMER_CLV, run.scores.assign(as_of_date=as_of), {"as_of_date": as_of})
    replace_rows(con, CLV_MODEL_RUNS, run.runs_frame(), {"as_of_date": as_of})
    return run
