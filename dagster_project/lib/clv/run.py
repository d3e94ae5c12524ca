"""One CLV run as the pipeline does it: validate on the holdout, fit, score, record, plot.

Thin on purpose: each step lives in its own module; this one decides the order and turns the
results into rows of `analytics.clv_model_runs`.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.lib.clv.fit import FitResult, fit_purchase_model
from dagster_project.lib.clv.holdout import (
    SELECTION_METRIC,
    HoldoutResult,
    evaluate_holdout,
    select_model,
)
from dagster_project.lib.clv.plots import holdout_plots
from dagster_project.lib.clv.score import Population, score_customers
from dagster_project.lib.clv.settings import (
    MARGIN_MODEL,
    PURCHASE_MODELS,
    ClvParameters,
    PurchaseModel,
)
from dagster_project.lib.clv.spend import fit_spend_model, margin_summary
from dagster_project.lib.clv.summary import summarize

RUN_COLUMNS = (
    "as_of_date",
    "model",
    "stage",
    "selected",
    "status",
    "method",
    "message",
    "parameters",
    "log_likelihood",
    "converged",
    "penalizer",
    "tolerance",
    "attempts",
    "customers",
    "rows_fitted",
    "seconds",
    "time_unit",
    "calibration_end_date",
    "holdout_days",
    "holdout_customers",
    "holdout_mae",
    "holdout_rmse",
    "holdout_total_pct_error",
    "selection_metric",
    "frequency_spend_correlation",
)


@dataclass(frozen=True)
class ClvRun:
    """What `run_clv` produced: scores per customer, one record per fit, plot files."""

    model: PurchaseModel
    scores: pd.DataFrame = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    plots: list[Path] = field(default_factory=list)
    purchase_fit: FitResult | None = None
    spend_fit: FitResult | None = None
    holdout: dict[str, HoldoutResult] = field(default_factory=dict, repr=False)
    # Wall-clock seconds of each part (holdout, fit, score), for the run's metadata and benchmarks.
    seconds: dict[str, float] = field(default_factory=dict)

    def runs_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.runs, columns=list(RUN_COLUMNS))


def _method(fit: FitResult) -> str:
    """How the run's numbers for this model were made: by it, by the heuristic, or not at all
    (no amounts: no spend figures)."""
    if fit.ok:
        return "model"
    return "none" if fit.status == "no_spend_data" else "heuristic"


def run_record(
    fit: FitResult,
    *,
    as_of: date,
    stage: str,
    params: ClvParameters,
    selected: bool = False,
    holdout: HoldoutResult | None = None,
) -> dict[str, Any]:
    """One row of `clv_model_runs` (keys = RUN_COLUMNS). `parameters` is a JSON object text."""
    return {
        "as_of_date": as_of,
        "model": fit.model,
        "stage": stage,
        "selected": selected,
        "status": fit.status,
        "method": _method(fit),
        "message": fit.message,
        "parameters": json.dumps(fit.params, sort_keys=True),
        "log_likelihood": fit.log_likelihood,
        "converged": fit.converged,
        "penalizer": fit.penalizer,
        "tolerance": fit.tolerance,
        "attempts": fit.attempts,
        "customers": fit.customers,
        "rows_fitted": fit.rows_fitted,
        "seconds": fit.seconds,
        "time_unit": params.time_unit,
        "calibration_end_date": holdout.calibration_end if holdout else None,
        "holdout_days": params.holdout_days if holdout else None,
        "holdout_customers": holdout.customers if holdout else None,
        "holdout_mae": holdout.mae if holdout else None,
        "holdout_rmse": holdout.rmse if holdout else None,
        "holdout_total_pct_error": holdout.total_pct_error if holdout else None,
        "selection_metric": SELECTION_METRIC if params.model == "auto" else None,
        "frequency_spend_correlation": fit.correlation,
    }


@dataclass(frozen=True)
class ClvFits:
    """What `fit_clv` produced: the chosen model's fits, one record per fit, plot files, and
    what scoring takes from everyone (`population`, `margin_population`); no scores yet."""

    model: PurchaseModel
    purchase_fit: FitResult
    spend_fit: FitResult
    margin_fit: FitResult
    population: Population = field(repr=False)
    margin_population: Population = field(repr=False)
    runs: list[dict[str, Any]] = field(repr=False)
    plots: list[Path] = field(default_factory=list)
    holdout: dict[str, HoldoutResult] = field(default_factory=dict, repr=False)
    seconds: dict[str, float] = field(default_factory=dict)

    def score(self, summary: pd.DataFrame, params: ClvParameters, as_of: date) -> pd.DataFrame:
        """Scores of the customers of `summary` (all, or a slice) with these fits."""
        return score_customers(
            summary,
            self.purchase_fit,
            self.spend_fit,
            params,
            as_of,
            self.population,
            self.margin_fit,
            self.margin_population,
        )

    def runs_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.runs, columns=list(RUN_COLUMNS))


def fit_clv(
    params: ClvParameters,
    as_of: date,
    *,
    transactions: pd.DataFrame | None = None,
    summary: pd.DataFrame | None = None,
    out_dir: Path | None = None,
) -> ClvFits:
    """Validate on the holdout and fit as of `as_of`; `run_clv` describes the arguments.

    `summary` may be compressed (a `weight` column): what is fitted are compressed rows anyway,
    so the fits come out the same. Scoring is left to the caller (`score_customers` here, or
    partition by partition where the customers are, as on Spark).
    """
    if summary is None and transactions is None:
        raise ValueError("run_clv needs transactions or a purchase summary")
    if summary is None:
        summary = summarize(transactions, as_of, params.time_unit)
    candidates: tuple[PurchaseModel, ...] = (
        PURCHASE_MODELS if params.model == "auto" else (params.model,)  # type: ignore[assignment]
    )
    checks: dict[str, HoldoutResult] = {}
    started = time.perf_counter()
    if transactions is not None and params.holdout_days > 0:
        for candidate in candidates:
            checks[candidate] = evaluate_holdout(transactions, as_of, params, candidate)
    chosen = select_model(list(checks.values())) if params.model == "auto" else candidates[0]
    fitting = time.perf_counter()
    purchase_fit = fit_purchase_model(summary, chosen, params)
    spend_fit = fit_spend_model(summary, params)
    # The same spend model on each purchase's gross margin (no_spend_data when none is known).
    margins = margin_summary(summary)
    margin_fit = fit_spend_model(margins, params, MARGIN_MODEL)
    seconds = {"holdout": fitting - started, "fit": time.perf_counter() - fitting}

    runs = [
        run_record(c.fit, as_of=as_of, stage="calibration", params=params, holdout=c)
        for c in checks.values()
    ]
    runs.append(
        run_record(
            purchase_fit,
            as_of=as_of,
            stage="final",
            params=params,
            selected=True,
            holdout=checks.get(chosen),
        )
    )
    runs.append(run_record(spend_fit, as_of=as_of, stage="final", params=params, selected=True))
    runs.append(run_record(margin_fit, as_of=as_of, stage="final", params=params, selected=True))
    plots = (
        holdout_plots(checks[chosen], out_dir) if out_dir is not None and chosen in checks else []
    )
    return ClvFits(
        chosen,
        purchase_fit,
        spend_fit,
        margin_fit,
        Population.of(summary),
        Population.of(margins),
        runs,
        plots,
        checks,
        {part: round(value, 3) for part, value in seconds.items()},
    )


def run_clv(
    params: ClvParameters,
    as_of: date,
    *,
    transactions: pd.DataFrame | None = None,
    summary: pd.DataFrame | None = None,
    out_dir: Path | None = None,
) -> ClvRun:
    """Validate, fit and score as of `as_of`.

    `summary` (lifetimes' columns + customer_key, optional total_spend, in `params.time_unit`)
    is what gets fitted and scored; without it it is built from `transactions` (customer_key,
    date, optional amount). The holdout check needs `transactions` and `holdout_days > 0`; with
    `model: auto` it picks the model (lowest holdout MAE). Plots go to `out_dir` when given.
    """
    if summary is None and transactions is not None:
        summary = summarize(transactions, as_of, params.time_unit)
    fits = fit_clv(params, as_of, transactions=transactions, summary=summary, out_dir=out_dir)
    scoring = time.perf_counter()
    scores = fits.score(summary, params, as_of)
    return ClvRun(
        fits.model,
        scores,
        fits.runs,
        fits.plots,
        fits.purchase_fit,
        fits.spend_fit,
        fits.holdout,
        {**fits.seconds, "score": round(time.perf_counter() - scoring, 3)},
    )
