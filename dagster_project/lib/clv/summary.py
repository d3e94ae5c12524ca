"""Per-customer purchase summaries in lifetimes' terms, and the checks a summary must pass.

The pipeline computes the summary in SQL (`analytics.customer_rfm`); this module builds the same
thing from transactions for the holdout split and for tests, and validates whatever it is given.
Definitions follow `lifetimes.utils.summary_data_from_transaction_data`: purchases on the same
day are one purchase; `frequency` counts repeat purchase days; `recency` is the age at the last
purchase and `T` the age at the as-of date, both from the first purchase and in the model's unit;
`monetary_value` is the mean value of repeat purchase days (0 without repeats).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dagster_project.lib.clv.settings import DAYS_PER_UNIT

SUMMARY_COLUMNS = ("customer_key", "frequency", "recency", "T")
TRANSACTION_COLUMNS = ("customer_key", "date")
# A summary row may stand for several customers with the same numbers: a summary compressed where
# it is kept (Spark), so that fits and population figures need not move one row per customer.
WEIGHT_COLUMN = "weight"


def customer_weights(summary: pd.DataFrame) -> np.ndarray:
    """How many customers each summary row stands for (1 each without a `weight` column)."""
    if WEIGHT_COLUMN in summary.columns:
        return summary[WEIGHT_COLUMN].to_numpy(dtype=np.int64)
    return np.ones(len(summary), dtype=np.int64)


def _local_day(values: pd.Series) -> pd.Series:
    """The local calendar day of each value. ISO text keeps its own wall-clock date (its first
    ten characters), so a Madrid evening purchase written with +01:00 stays on its day even when
    a file mixes +01:00 and +02:00; aware timestamps keep their wall-clock time too."""
    present = values.dropna()
    if len(present) and isinstance(present.iloc[0], str):
        return pd.to_datetime(values.str.slice(0, 10), format="%Y-%m-%d")
    day = pd.to_datetime(values)
    if isinstance(day.dtype, pd.DatetimeTZDtype):
        day = day.dt.tz_localize(None)
    return day


def purchase_days(transactions: pd.DataFrame, as_of: date | None = None) -> pd.DataFrame:
    """One row per customer and purchase day (amounts summed), up to and including `as_of`.

    `transactions` has `customer_key`, `date` (date, timestamp or ISO text; a timestamp's local
    wall-clock day is used) and optionally `amount`. Rows without a customer are dropped: an
    anonymous ticket tells nothing about anyone's rhythm.
    """
    missing = [c for c in TRANSACTION_COLUMNS if c not in transactions.columns]
    if missing:
        raise ValueError(f"transactions lack column(s) {', '.join(missing)}")
    day = _local_day(transactions["date"])
    frame = pd.DataFrame(
        {"customer_key": transactions["customer_key"].to_numpy(), "date": day.dt.normalize()}
    )
    has_amount = "amount" in transactions.columns
    if has_amount:
        frame["amount"] = pd.to_numeric(transactions["amount"]).to_numpy(dtype=float)
    frame = frame.dropna(subset=["customer_key", "date"])
    if as_of is not None:
        frame = frame[frame["date"] <= pd.Timestamp(as_of)]
    grouped = frame.groupby(["customer_key", "date"], sort=True)
    days = grouped["amount"].sum().reset_index() if has_amount else grouped.size().reset_index()
    return (
        days[["customer_key", "date", "amount"]] if has_amount else days[["customer_key", "date"]]
    )


def summarize(transactions: pd.DataFrame, as_of: date, time_unit: str) -> pd.DataFrame:
    """The purchase summary of every customer with a purchase by `as_of`.

    Columns: customer_key, frequency, recency, T, monetary_value, total_spend (the last two are
    NaN when the transactions carry no `amount`), first_purchase_date.
    """
    unit = DAYS_PER_UNIT[time_unit]
    days = purchase_days(transactions, as_of)
    if days.empty:
        return pd.DataFrame(
            {
                "customer_key": pd.Series(dtype=transactions["customer_key"].dtype),
                **{c: pd.Series(dtype=float) for c in ("frequency", "recency", "T")},
                "monetary_value": pd.Series(dtype=float),
                "total_spend": pd.Series(dtype=float),
                "first_purchase_date": pd.Series(dtype="datetime64[ns]"),
            }
        )
    # Rows are sorted by customer then day, so each customer's first row is their first purchase.
    is_first = ~days["customer_key"].duplicated()
    per = days.groupby("customer_key", sort=True)
    first = per["date"].min()
    last = per["date"].max()
    count = per.size()
    summary = pd.DataFrame(
        {
            "customer_key": first.index.to_numpy(),
            "frequency": (count - 1).to_numpy(dtype=float),
            "recency": ((last - first).dt.days / unit).to_numpy(dtype=float),
            "T": ((pd.Timestamp(as_of) - first).dt.days / unit).to_numpy(dtype=float),
        }
    )
    if "amount" in days.columns:
        repeat_total = days["amount"].where(~is_first, 0.0).groupby(days["customer_key"]).sum()
        freq = summary["frequency"].to_numpy()
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_repeat = np.where(freq > 0, repeat_total.to_numpy() / freq, 0.0)
        summary["monetary_value"] = mean_repeat
        summary["total_spend"] = per["amount"].sum().to_numpy(dtype=float)
    else:
        summary["monetary_value"] = np.nan
        summary["total_spend"] = np.nan
    summary["first_purchase_date"] = first.to_numpy()
    return summary


def validate_summary(summary: pd.DataFrame) -> None:
    """Raise ValueError naming the column and an offending customer when a summary is not one
    lifetimes' models can take; silent garbage here would become confident nonsense later."""
    missing = [c for c in SUMMARY_COLUMNS if c not in summary.columns]
    if missing:
        raise ValueError(f"purchase summary lacks column(s) {', '.join(missing)}")
    if summary["customer_key"].duplicated().any():
        key = summary.loc[summary["customer_key"].duplicated(), "customer_key"].iloc[0]
        raise ValueError(f"purchase summary has customer_key {key} more than once")
    x = summary["frequency"].to_numpy(dtype=float)
    rec = summary["recency"].to_numpy(dtype=float)
    age = summary["T"].to_numpy(dtype=float)
    checks = {
        "frequency must be a whole number >= 0": ~np.isfinite(x) | (x < 0) | (x != np.round(x)),
        "recency must be >= 0": ~np.isfinite(rec) | (rec < 0),
        "T must be >= recency": ~np.isfinite(age) | (age < rec - 1e-9),
        "recency must be 0 when frequency is 0": (x == 0) & (rec != 0),
    }
    for rule, bad in checks.items():
        if bad.any():
            key = summary["customer_key"].to_numpy()[np.flatnonzero(bad)[0]]
            raise ValueError(f"purchase summary: {rule} ({int(bad.sum())} rows, e.g. {key})")
