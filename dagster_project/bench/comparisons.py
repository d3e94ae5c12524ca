"""Our pipeline's way against the way people do it today, on the same data in the same process.

Each comparison checks that both sides give the same numbers before it reports a time ratio: a
faster wrong answer is not a result.

- summary: the SQL of `analytics.customer_rfm` (compiled by dbt, run by DuckDB) against
  `lifetimes.utils.summary_data_from_transaction_data` on the same purchases, and against the
  floor: the summary alone as one lean DuckDB query (`FLOOR_SQL`);
- rfm: the same SQL against the notebook approach in pandas, with the same scoring rules;
- clv_fit: BG/NBD on customers compressed to distinct (frequency, recency, T) rows with weights,
  against one row per customer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date
from typing import Any

import duckdb
import numpy as np
import pandas as pd
from lifetimes.utils import summary_data_from_transaction_data

from dagster_project.lib.clv import ClvParameters
from dagster_project.lib.clv.fit import fit_purchase_model
from dagster_project.lib.clv.spend import fit_spend_model


def timed(call: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = call()
    return value, time.perf_counter() - started


def read_purchases(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """The purchases the analytics of `as_of` saw, sorted as lifetimes expects (by day)."""
    return con.execute(
        "select customer_key, order_date, cast(purchase_amount as double) as amount "
        "from analytics.customer_purchases where as_of_date = ? "
        "order by order_date, customer_key, transaction_id",
        [as_of],
    ).df()


def run_model_sql(con: duckdb.DuckDBPyConnection, compiled_sql: str) -> tuple[pd.DataFrame, float]:
    """Build the model's rows as dbt would (a table), timed, then read them for the comparison
    (untimed: the pipeline keeps them in the warehouse, it never reads them into pandas)."""
    con.execute("drop table if exists bench_customer_rfm")
    _, seconds = timed(
        lambda: con.execute(f"create temp table bench_customer_rfm as {compiled_sql}")
    )
    return con.execute("select * from bench_customer_rfm order by customer_key").df(), seconds


# The floor: the summary alone, as lean as one DuckDB query writes it (purchases of a day merged,
# the first day's amount left out of the mean repeat spend).
FLOOR_SQL = """
create temp table bench_floor as
select
    customer_key,
    count(*) - 1 as frequency,
    date_diff('day', min(order_date), max(order_date)) as recency,
    date_diff('day', min(order_date), $as_of) as "T",
    case
        when count(*) > 1
            then (sum(amount) - arg_min(amount, order_date)) / (count(*) - 1)
        else 0
    end as monetary_value
from (
    select customer_key, order_date, sum(purchase_amount) as amount
    from analytics.customer_purchases
    where as_of_date = $as_of
    group by customer_key, order_date
)
group by customer_key
"""


def run_floor(con: duckdb.DuckDBPyConnection, as_of: date) -> tuple[pd.DataFrame, float]:
    """The floor's summary, timed as ours is (building a table), then read."""
    con.execute("drop table if exists bench_floor")
    _, seconds = timed(lambda: con.execute(FLOOR_SQL, {"as_of": as_of}))
    return con.execute("select * from bench_floor order by customer_key").df(), seconds


def _ratio(theirs: float, ours: float) -> float:
    return round(theirs / ours, 2) if ours > 0 else float("inf")


def compare_summary(
    purchases: pd.DataFrame,
    ours: pd.DataFrame,
    ours_seconds: float,
    as_of: date,
    floor: tuple[pd.DataFrame, float],
) -> dict[str, Any]:
    """lifetimes' summary (daily periods, same-day purchases merged) against ours, value by value;
    and the floor (`FLOOR_SQL`) against lifetimes' the same way."""
    theirs, seconds = timed(
        lambda: summary_data_from_transaction_data(
            purchases,
            "customer_key",
            "order_date",
            monetary_value_col="amount",
            observation_period_end=pd.Timestamp(as_of),
            freq="D",
        )
    )
    theirs = theirs.sort_index()
    mine = ours.set_index("customer_key").loc[theirs.index]
    same = {
        "frequency": np.array_equal(theirs["frequency"], mine["frequency"].astype(float)),
        "recency": np.array_equal(theirs["recency"], mine["recency_days"].astype(float)),
        "T": np.array_equal(theirs["T"], mine["t_days"].astype(float)),
        # Our mean repeat spend is stored as a decimal with 6 places.
        "monetary_value": np.allclose(
            theirs["monetary_value"], mine["monetary_value"].astype(float), rtol=0, atol=1e-6
        ),
    }
    floor_rows, floor_seconds = floor
    lean = floor_rows.set_index("customer_key").loc[theirs.index]
    floor_identical = len(floor_rows) == len(theirs) and all(
        np.allclose(theirs[column], lean[column].astype(float), rtol=0, atol=1e-6)
        for column in ("frequency", "recency", "T", "monetary_value")
    )
    return {
        "rows": len(purchases),
        "customers": len(theirs),
        "same_customers": len(theirs) == len(ours),
        "identical": all(same.values()) and len(theirs) == len(ours),
        "columns_identical": same,
        "ours_seconds": round(ours_seconds, 3),
        "theirs_seconds": round(seconds, 3),
        "speedup": _ratio(seconds, ours_seconds),
        "floor_seconds": round(floor_seconds, 3),
        "floor_identical": floor_identical,
        # How many times the floor's time ours takes (1.0: as fast as the floor).
        "ours_to_floor": _ratio(ours_seconds, floor_seconds),
    }


def quintile_score(values: pd.Series) -> pd.Series:
    """1–5 by percent rank, equal values sharing a score (the rule of our SQL macro)."""
    n = len(values)
    percent_rank = (values.rank(method="min") - 1) / (n - 1) if n > 1 else values * 0.0
    return 1 + np.minimum(4, np.floor(5 * percent_rank)).astype(int)


def pandas_rfm(purchases: pd.DataFrame, as_of: date, scheme: pd.DataFrame) -> pd.DataFrame:
    """RFM scores and segments the way a notebook computes them, with our rules."""
    # Money in whole cents: float sums of the same amounts in another order can differ in the
    # last bit, and a tie broken that way moves a customer across a quintile boundary.
    cents = purchases.assign(cents=(purchases["amount"] * 100).round().astype("int64"))
    days = cents.groupby(["customer_key", "order_date"], as_index=False)["cents"].sum()
    per = days.groupby("customer_key").agg(
        last=("order_date", "max"), days=("order_date", "size"), total=("cents", "sum")
    )
    since_last = (pd.Timestamp(as_of) - pd.to_datetime(per["last"])).dt.days
    rfm = pd.DataFrame(
        {
            "r_score": 6 - quintile_score(since_last),
            "f_score": quintile_score(per["days"] - 1),
            "m_score": quintile_score(per["total"]),
        },
        index=per.index,
    )
    rfm["fm_score"] = np.floor((rfm["f_score"] + rfm["m_score"]) / 2.0 + 0.5).astype(int)
    cells = scheme.rename(columns={"segment": "rfm_segment"})
    return rfm.reset_index().merge(cells, on=["r_score", "fm_score"], how="left")


def compare_rfm(
    purchases: pd.DataFrame,
    ours: pd.DataFrame,
    ours_seconds: float,
    as_of: date,
    scheme: pd.DataFrame,
) -> dict[str, Any]:
    theirs, seconds = timed(lambda: pandas_rfm(purchases, as_of, scheme))
    joined = theirs.merge(ours, on="customer_key", suffixes=("_pandas", ""), how="outer")
    columns = ("r_score", "f_score", "m_score", "rfm_segment")
    agree = {c: int((joined[f"{c}_pandas"] == joined[c]).sum()) for c in columns}
    return {
        "customers": len(ours),
        "identical": all(n == len(ours) == len(theirs) for n in agree.values()),
        "customers_agreeing": agree,
        "ours_seconds": round(ours_seconds, 3),
        "theirs_seconds": round(seconds, 3),
        "speedup": _ratio(seconds, ours_seconds),
    }


def compare_clv_fit(summary: pd.DataFrame, params: ClvParameters) -> dict[str, Any]:
    """BG/NBD on compressed rows against one row per customer; Gamma-Gamma timed with it, as
    the pipeline's fit is the pair."""
    compressed = fit_purchase_model(summary, "bgnbd", params)
    spend = fit_spend_model(summary, params)
    one_per_customer = fit_purchase_model(summary, "bgnbd", params, compressed=False)
    if not (compressed.ok and one_per_customer.ok):
        # Too few repeat buyers or too short a history to fit: nothing to compare.
        raise ValueError(f"BG/NBD could not be fitted on this data: {compressed.message}")
    names = list(compressed.params)
    ours = np.array([compressed.params[n] for n in names])
    theirs = np.array([one_per_customer.params[n] for n in names])
    largest_difference = float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
    return {
        "customers": len(summary),
        "rows_fitted": compressed.rows_fitted,
        "parameters": dict(zip(names, ours.round(9).tolist(), strict=True)),
        "largest_relative_difference": largest_difference,
        "identical": bool(largest_difference <= 1e-6),
        "ours_seconds": compressed.seconds,
        "theirs_seconds": one_per_customer.seconds,
        "speedup": _ratio(one_per_customer.seconds, compressed.seconds),
        "gamma_gamma_seconds": spend.seconds,
        "gamma_gamma_status": spend.status,
        "fit_seconds": round(compressed.seconds + spend.seconds, 3),
    }
