"""Per-customer CLV scores from a purchase fit and a spend fit (or the heuristics without them).

Output columns (one row per `customer_key`, in the summary's order):
- `probability_alive`: P(the customer has not dropped out by the as-of date | history).
- `expected_purchases_30d`, `_90d`, `_365d`: expected repeat purchase days in the next 30/90/365
  days (conditional on history).
- `churn_probability_90d`: P(no purchase in the next 90 days | history), see
  `ModelPredictor.probability_no_purchase`.
- `expected_next_purchase_date`: as-of date + the first whole day d within `horizon_days` at
  which the expected purchases reach 1; NaT when they stay below 1 over the horizon.
- `predicted_spend_per_purchase`: Gamma-Gamma's conditional expected mean spend (repeat buyers
  with positive spend), the population mean p*v/(q-1) for everyone else.
- `predicted_clv`: expected spend over the next `horizon_days`, discounted (see `_clv`).
- `historic_clv`: total net spend to date (`total_spend` of the summary; NaN without it).
- `expected_remaining_days`: expected days still active within the next
  `lifetime_horizon_days` (see `ModelPredictor.expected_active_time`).
- `predicted_margin_per_purchase`, `predicted_margin_clv`: the same on gross margin, from a
  Gamma-Gamma fitted on margins (`margin_fit`); NaN for a customer some of whose purchases have
  no known margin, and for everyone when the data has no margins.
- `model`, `method` ('model' or 'heuristic'), `spend_model`, `spend_method` ('model',
  'heuristic' or 'none' when there are no amounts), `margin_method` (the same for the margin
  fit), `as_of_date`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dagster_project.lib.clv.fit import FitResult
from dagster_project.lib.clv.predict import (
    HeuristicPredictor,
    ModelPredictor,
    Predictor,
    days_to_first_expected_purchase,
)
from dagster_project.lib.clv.settings import SPEND_MODEL, ClvParameters
from dagster_project.lib.clv.spend import margin_summary
from dagster_project.lib.clv.summary import customer_weights, validate_summary

# Future spend is discounted at the end of each 30-day period, like lifetimes'
# `customer_lifetime_value` does per month: a purchase somewhere in the period counts as at its
# end, slightly conservative.
DISCOUNT_PERIOD_DAYS = 30
SCORE_WINDOWS_DAYS = (30, 90, 365)
CHURN_WINDOW_DAYS = 90


def _distinct_histories(summary: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Codes mapping each customer to its (frequency, recency, T) row, and those rows."""
    keys = summary[["frequency", "recency", "T"]].astype(float)
    codes = keys.groupby(["frequency", "recency", "T"], sort=False).ngroup().to_numpy()
    first = np.unique(codes, return_index=True)[1]
    return codes, keys.iloc[first].reset_index(drop=True)


def _clv_per_purchase_stream(
    predictor: Predictor,
    x: np.ndarray,
    rec: np.ndarray,
    age: np.ndarray,
    params: ClvParameters,
) -> np.ndarray:
    """Discounted expected purchases over the horizon: sum over 30-day periods k of
    (E[N(t_k)] - E[N(t_k-1)]) * (1 + annual rate) ** (-t_k / 365), t_k the period's end in days
    (the last period is cut at the horizon). Times predicted spend per purchase, this is CLV."""
    horizon = params.horizon_days
    if params.discount_rate == 0:
        return predictor.expected_purchases(params.to_units(horizon), x, rec, age)
    ends = np.minimum(
        np.arange(1, -(-horizon // DISCOUNT_PERIOD_DAYS) + 1) * DISCOUNT_PERIOD_DAYS, horizon
    )
    total = np.zeros(len(x))
    previous = np.zeros(len(x))
    for end in ends:  # a dozen periods, each vectorised over all histories
        current = predictor.expected_purchases(params.to_units(float(end)), x, rec, age)
        total += np.maximum(current - previous, 0.0) * (1.0 + params.discount_rate) ** (
            -end / 365.0
        )
        previous = current
    return total


def _amounts(summary: pd.DataFrame, column: str) -> np.ndarray:
    if column not in summary.columns:
        return np.full(len(summary), np.nan)
    return pd.to_numeric(summary[column], errors="coerce").to_numpy(dtype=float)


def _weighted_mean(values: np.ndarray, weights: np.ndarray, keep: np.ndarray) -> float:
    return float(np.average(values[keep], weights=weights[keep])) if keep.any() else float("nan")


@dataclass(frozen=True)
class Population:
    """What a customer's scores take from everyone, not only from their own history: the
    heuristic's pooled purchase rate and the spend heuristic's means.

    Computed once from the whole summary (or its compressed rows), it lets any slice of the
    customers be scored on its own (Spark scores partitions) and get the numbers the whole
    would. NaN means: nobody to take a mean over.
    """

    heuristic: HeuristicPredictor
    mean_repeat_spend: float  # over repeat buyers with a positive mean spend
    mean_purchase_value: float  # total spend / purchases, over customers who spent

    @classmethod
    def of(cls, summary: pd.DataFrame) -> Population:
        weights = customer_weights(summary)
        x = summary["frequency"].to_numpy(dtype=float)
        age = summary["T"].to_numpy(dtype=float)
        m = _amounts(summary, "monetary_value")
        per_purchase = _amounts(summary, "total_spend") / (x + 1.0)
        with np.errstate(invalid="ignore"):
            own, spent = (x > 0) & (m > 0), per_purchase > 0
        return cls(
            heuristic=HeuristicPredictor.from_summary(x, age, weights),
            mean_repeat_spend=_weighted_mean(m, weights, own),
            mean_purchase_value=_weighted_mean(per_purchase, weights, spent),
        )


def _spend(
    summary: pd.DataFrame, spend_fit: FitResult | None, population: Population
) -> tuple[np.ndarray, str]:
    """Predicted spend per purchase and how it was obtained.

    Heuristic (Gamma-Gamma insufficient or failed, amounts present): the customer's own mean
    repeat spend when positive, else the mean of those over all such repeat buyers, else the
    mean first-and-repeat purchase value (total_spend / (frequency + 1)) over customers with
    positive total spend.
    """
    n = len(summary)
    x = summary["frequency"].to_numpy(dtype=float)
    m = _amounts(summary, "monetary_value")
    with np.errstate(invalid="ignore"):
        own = (x > 0) & (m > 0)
    if spend_fit is not None and spend_fit.ok:
        p, q, v = (spend_fit.params[k] for k in ("p", "q", "v"))
        mean = p * v / (q - 1.0)
        weight = np.where(own, p * x / (p * x + q - 1.0), 0.0)
        return (1.0 - weight) * mean + weight * np.where(own, m, 0.0), "model"
    if spend_fit is not None and spend_fit.status == "no_spend_data":
        return np.full(n, np.nan), "none"
    if np.isfinite(population.mean_repeat_spend):
        return np.where(own, m, population.mean_repeat_spend), "heuristic"
    if np.isfinite(population.mean_purchase_value):
        return np.full(n, population.mean_purchase_value), "heuristic"
    return np.full(n, np.nan), "none"


def _purchase_columns(
    predictor: Predictor, x: np.ndarray, rec: np.ndarray, age: np.ndarray, params: ClvParameters
) -> dict[str, np.ndarray]:
    """The purchase-model columns for distinct histories, plus `stream` (discounted expected
    purchases over the horizon) and `next_days`."""
    to_units = params.to_units
    columns = {"probability_alive": predictor.probability_alive(x, rec, age)}
    for days in SCORE_WINDOWS_DAYS:
        columns[f"expected_purchases_{days}d"] = predictor.expected_purchases(
            to_units(days), x, rec, age
        )
    columns["churn_probability_90d"] = predictor.probability_no_purchase(
        to_units(CHURN_WINDOW_DAYS), x, rec, age
    )
    columns["stream"] = _clv_per_purchase_stream(predictor, x, rec, age, params)
    columns["active_time"] = predictor.expected_active_time(
        to_units(params.lifetime_horizon_days), x, rec, age
    )
    columns["next_days"] = days_to_first_expected_purchase(
        predictor, x, rec, age, params.horizon_days, params.days_per_unit
    )
    return columns


def score_customers(
    summary: pd.DataFrame,
    purchase_fit: FitResult,
    spend_fit: FitResult | None,
    params: ClvParameters,
    as_of: date,
    population: Population | None = None,
    margin_fit: FitResult | None = None,
    margin_population: Population | None = None,
) -> pd.DataFrame:
    """One row of CLV scores per customer of `summary` (see the module docstring for columns).

    `population` (`Population.of` the whole summary by default) carries what scores take from
    everyone, so a slice of the customers scored with the whole's population gets the whole's
    numbers; `margin_population` does the same for margins (`Population.of(margin_summary(..))`).
    Without `margin_fit` the margin columns are NaN and `margin_method` is 'none'.

    `summary` is in `params.time_unit`, as `purchase_fit` was fitted. When `purchase_fit` is not
    ok the purchase columns come from `HeuristicPredictor` and `method` says 'heuristic'; so do
    single histories for which a fitted model's formulas give a non-finite number (a guard: the
    scores table must never hold NaN probabilities). Purchase quantities are computed once per
    distinct (frequency, recency, T) and broadcast to the customers.
    """
    validate_summary(summary)
    codes, rows = _distinct_histories(summary)
    x = rows["frequency"].to_numpy()
    rec = rows["recency"].to_numpy()
    age = rows["T"].to_numpy()
    population = population or Population.of(summary)
    heuristic = population.heuristic
    predictor = ModelPredictor(purchase_fit) if purchase_fit.ok else heuristic
    columns = _purchase_columns(predictor, x, rec, age, params)
    finite = np.logical_and.reduce([np.isfinite(v) for k, v in columns.items() if k != "next_days"])
    if not finite.all():
        fallback = _purchase_columns(heuristic, x[~finite], rec[~finite], age[~finite], params)
        for name, values in fallback.items():
            columns[name][~finite] = values
    row_method = np.where(finite & purchase_fit.ok, "model", "heuristic")

    out = pd.DataFrame({"customer_key": summary["customer_key"].to_numpy()})
    for name in ("probability_alive", *(f"expected_purchases_{d}d" for d in SCORE_WINDOWS_DAYS)):
        out[name] = columns[name][codes]
    out["churn_probability_90d"] = columns["churn_probability_90d"][codes]
    as_of_ts = pd.Timestamp(as_of)
    out["expected_next_purchase_date"] = as_of_ts + pd.to_timedelta(
        columns["next_days"][codes], unit="D"
    )
    spend, spend_method = _spend(summary, spend_fit, population)
    out["predicted_spend_per_purchase"] = spend
    out["predicted_clv"] = columns["stream"][codes] * spend
    out["historic_clv"] = (
        summary["total_spend"].to_numpy(dtype=float) if "total_spend" in summary.columns else np.nan
    )
    out["expected_remaining_days"] = columns["active_time"][codes] * params.days_per_unit
    margin, margin_method = _margin(summary, margin_fit, margin_population)
    out["predicted_margin_per_purchase"] = margin
    out["predicted_margin_clv"] = columns["stream"][codes] * margin
    out["model"] = purchase_fit.model
    out["method"] = row_method[codes]
    out["spend_model"] = SPEND_MODEL
    out["spend_method"] = spend_method
    out["margin_method"] = margin_method
    out["as_of_date"] = as_of_ts
    return out


def _margin(
    summary: pd.DataFrame, margin_fit: FitResult | None, population: Population | None
) -> tuple[np.ndarray, str]:
    """Predicted gross margin per purchase, as `_spend` predicts revenue, kept only for
    customers whose every purchase has a known margin (`total_margin` not null)."""
    margins = margin_summary(summary)
    known = np.isfinite(margins["total_spend"].to_numpy(dtype=float))
    if margin_fit is None or not known.any():
        return np.full(len(summary), np.nan), "none"
    predicted, method = _spend(margins, margin_fit, population or Population.of(margins))
    return np.where(known, predicted, np.nan), method
