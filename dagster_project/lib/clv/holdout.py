"""Holdout validation: refit on the data up to D - holdout_days, predict the holdout, compare.

The customers judged are those with a first purchase in the calibration period (the only ones a
calibration fit can say anything about); their actual holdout purchases are purchase days in
(D - holdout_days, D], same-day purchases merged as in the summary.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from dagster_project.lib.clv.fit import FitResult, fit_purchase_model
from dagster_project.lib.clv.predict import ModelPredictor, predictor_for
from dagster_project.lib.clv.settings import PURCHASE_MODELS, ClvParameters, PurchaseModel
from dagster_project.lib.clv.summary import purchase_days, summarize
from dagster_project.lib.frames import is_in

# `auto` keeps the model with the lowest mean absolute error per customer: it judges each
# customer's forecast (what the scores are used for), and unlike RMSE it is not dominated by a
# handful of very frequent buyers. Ties go to the earlier model in PURCHASE_MODELS.
SELECTION_METRIC = "mae"
FREQUENCY_BUCKETS = 7  # calibration frequencies 0..6 and "7+" in the calibration plot


@dataclass(frozen=True)
class HoldoutResult:
    """A model's holdout check. Metrics are None when there was nothing to compare.

    - `mae`, `rmse`: per customer, of predicted vs actual holdout purchase days.
    - `total_pct_error`: 100 * (sum predicted - sum actual) / sum actual (positive = too high).
    - `per_customer`: customer_key, calibration frequency, actual, predicted.
    - `calibration_vs_holdout`: per frequency bucket: customers, actual_mean, predicted_mean.
    - `tracking`: per day: actual and expected cumulative repeat purchases of the calibration
      customers, over calibration and holdout (expected NaN without a converged model).
    """

    model: str
    fit: FitResult
    method: str
    calibration_end: date
    as_of: date
    customers: int
    actual_total: float
    predicted_total: float
    mae: float | None
    rmse: float | None
    total_pct_error: float | None
    per_customer: pd.DataFrame = field(repr=False)
    calibration_vs_holdout: pd.DataFrame = field(repr=False)
    tracking: pd.DataFrame = field(repr=False)


def split(
    transactions: pd.DataFrame, as_of: date, holdout_days: int
) -> tuple[pd.DataFrame, pd.DataFrame, date]:
    """Purchase days up to the calibration end (D - holdout_days) and after it up to D."""
    calibration_end = as_of - timedelta(days=holdout_days)
    days = purchase_days(transactions, as_of)
    in_calibration = days["date"] <= pd.Timestamp(calibration_end)
    return days[in_calibration], days[~in_calibration], calibration_end


def _buckets(frequency: np.ndarray) -> np.ndarray:
    return np.minimum(frequency, FREQUENCY_BUCKETS).astype(int)


def _calibration_vs_holdout(per_customer: pd.DataFrame) -> pd.DataFrame:
    bucket = _buckets(per_customer["frequency"].to_numpy())
    table = (
        per_customer.assign(bucket=bucket)
        .groupby("bucket", sort=True)
        .agg(
            customers=("actual", "size"),
            actual_mean=("actual", "mean"),
            predicted_mean=("predicted", "mean"),
        )
        .reset_index()
    )
    labels = [str(b) if b < FREQUENCY_BUCKETS else f"{FREQUENCY_BUCKETS}+" for b in table["bucket"]]
    return table.assign(frequency_bucket=labels)


def _tracking(
    days: pd.DataFrame,
    first_purchase: pd.Series,
    fit: FitResult,
    as_of: date,
    params: ClvParameters,
) -> pd.DataFrame:
    """Cumulative repeat purchases per day, actual and as the model expects them.

    Expected: every customer contributes E[N(t)] (the unconditional repeat purchases t after
    their first purchase), so the total on day d is the sum over first-purchase days c of
    customers(c) * E[N(d - c)], a convolution of the cohort sizes with the E[N] curve.
    """
    start = first_purchase.min()
    calendar = pd.date_range(start, pd.Timestamp(as_of), freq="D")
    offset = ((first_purchase - start).dt.days).to_numpy()
    cohorts = np.bincount(offset, minlength=len(calendar)).astype(float)
    firsts = days["date"].eq(days["customer_key"].map(first_purchase))
    repeat_offset = ((days.loc[~firsts, "date"] - start).dt.days).to_numpy()
    actual = np.cumsum(np.bincount(repeat_offset, minlength=len(calendar)))[: len(calendar)]
    expected = np.full(len(calendar), np.nan)
    if fit.ok:
        elapsed = params.to_units(np.arange(len(calendar), dtype=float))
        none = np.zeros_like(elapsed)  # no history: the unconditional E[N(t)]
        curve = ModelPredictor(fit).expected_purchases(elapsed, none, none, none)
        expected = np.convolve(cohorts, curve)[: len(calendar)]
    return pd.DataFrame({"date": calendar, "actual": actual.astype(float), "expected": expected})


def evaluate_holdout(
    transactions: pd.DataFrame,
    as_of: date,
    params: ClvParameters,
    model: PurchaseModel,
) -> HoldoutResult:
    """Fit `model` on the calibration period and score its forecast of the holdout period.

    The forecast comes from the heuristic when the calibration fit is not usable (`method`
    says which), so a run always has numbers to compare.
    """
    calibration, holdout, calibration_end = split(transactions, as_of, params.holdout_days)
    summary = summarize(calibration, calibration_end, params.time_unit)
    fit = fit_purchase_model(summary, model, params)
    x = summary["frequency"].to_numpy(dtype=float)
    rec = summary["recency"].to_numpy(dtype=float)
    age = summary["T"].to_numpy(dtype=float)
    predictor = predictor_for(fit, x, age)
    predicted = predictor.expected_purchases(params.to_units(params.holdout_days), x, rec, age)
    actual_counts = holdout.groupby("customer_key").size()
    actual = summary["customer_key"].map(actual_counts).fillna(0).to_numpy(dtype=float)
    per_customer = pd.DataFrame(
        {
            "customer_key": summary["customer_key"].to_numpy(),
            "frequency": x,
            "actual": actual,
            "predicted": predicted,
        }
    )
    n = len(summary)
    error = predicted - actual
    total_actual = float(actual.sum())
    first_purchase = pd.Series(
        summary["first_purchase_date"].to_numpy(), index=summary["customer_key"].to_numpy()
    )
    known = pd.concat([calibration, holdout[is_in(holdout["customer_key"], first_purchase.index)]])
    return HoldoutResult(
        model=model,
        fit=fit,
        method="model" if isinstance(predictor, ModelPredictor) else "heuristic",
        calibration_end=calibration_end,
        as_of=as_of,
        customers=n,
        actual_total=total_actual,
        predicted_total=float(predicted.sum()),
        mae=float(np.abs(error).mean()) if n else None,
        rmse=float(np.sqrt((error**2).mean())) if n else None,
        total_pct_error=(
            100.0 * (float(predicted.sum()) - total_actual) / total_actual
            if total_actual > 0
            else None
        ),
        per_customer=per_customer,
        calibration_vs_holdout=_calibration_vs_holdout(per_customer),
        tracking=_tracking(known, first_purchase, fit, as_of, params) if n else pd.DataFrame(),
    )


def select_model(results: list[HoldoutResult], fallback: PurchaseModel = "bgnbd") -> PurchaseModel:
    """The model whose converged calibration fit has the lowest holdout MAE (`fallback` if none
    converged: then every candidate would be scored by the same heuristic anyway)."""
    usable = [r for r in results if r.fit.ok and r.mae is not None and np.isfinite(r.mae)]
    if not usable:
        return fallback
    order = {m: i for i, m in enumerate(PURCHASE_MODELS)}
    best = min(usable, key=lambda r: (r.mae, order[r.model]))
    return best.model  # type: ignore[return-value]
