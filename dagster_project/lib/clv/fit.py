"""Fitting the purchase models (BG/NBD, MBG/NBD, Pareto/NBD) unattended (Gamma-Gamma: spend.py).

Three things make a nightly fit safe to leave alone:
- customers with the same (frequency, recency, T) are fitted as one weighted row (`compress`);
  the likelihood is the same, the work is proportional to distinct histories, not customers;
- a convergence failure walks down `RETRY_LADDER` instead of stopping the run;
- data that cannot identify a model (too few repeat buyers, too short a history) gives a result
  with `status="insufficient_data"` and the reason, so callers fall back to the heuristic.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter, ParetoNBDFitter
from lifetimes.utils import ConvergenceError
from scipy.optimize import minimize

from dagster_project.lib.clv.settings import (
    MARGIN_MODEL,
    PURCHASE_MODELS,
    SPEND_MODEL,
    ClvParameters,
    PurchaseModel,
)
from dagster_project.lib.clv.summary import customer_weights, validate_summary

# (penalizer, tolerance) tried in order until one converges to finite, positive parameters.
# The unpenalised fit at lifetimes' default tolerance is the estimate we want. A looser tolerance
# at penalizer 0 comes next because most failures are BFGS stopping on precision loss right at a
# flat optimum, where the estimate is already good and stays unbiased. Only then do we add an L2
# penalty (on the parameters in lifetimes' rescaled time, where max T = 1), growing tenfold: it
# pulls the estimates towards 0, which is biased but bounded, and the penalty is recorded.
RETRY_LADDER: tuple[tuple[float, float], ...] = (
    (0.0, 1e-7),
    (0.0, 1e-5),
    (0.001, 1e-7),
    (0.01, 1e-7),
    (0.1, 1e-7),
    (0.1, 1e-4),
)

PARAMETER_NAMES: dict[str, tuple[str, ...]] = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "mbgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    SPEND_MODEL: ("p", "q", "v"),
    MARGIN_MODEL: ("p", "q", "v"),
}
# Errors that mean "this attempt did not give usable estimates"; anything else is a bug and raises.
FIT_ERRORS = (
    ConvergenceError,
    np.linalg.LinAlgError,
    ValueError,
    FloatingPointError,
    OverflowError,
)


@dataclass(frozen=True)
class FitResult:
    """Outcome of fitting one model. `status`: ok, insufficient_data, failed, no_spend_data.

    `params` are in the model's time unit (alpha, beta per unit; Gamma-Gamma's `v` is the scale
    often written gamma). `log_likelihood` is the total over customers, unpenalised. `customers`
    counts the people the data covered, `rows_fitted` the weighted rows after compression.
    `correlation` is Gamma-Gamma's frequency-spend Pearson correlation (None for purchases).
    """

    model: str
    status: str
    params: dict[str, float] = field(default_factory=dict)
    log_likelihood: float | None = None
    converged: bool = False
    penalizer: float | None = None
    tolerance: float | None = None
    customers: int = 0
    rows_fitted: int = 0
    seconds: float = 0.0
    attempts: int = 0
    message: str = ""
    correlation: float | None = None
    fitter: Any = field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def compress(summary: pd.DataFrame) -> pd.DataFrame:
    """Customers with identical (frequency, recency, T) as one row with a `weight` (their count;
    rows of an already weighted summary add their weights).

    The likelihood of a row times its weight equals the sum over the customers it stands for,
    so fits on the compressed rows give the same estimates.
    """
    weighted = summary.assign(weight=customer_weights(summary))
    return weighted.groupby(["frequency", "recency", "T"], sort=True)["weight"].sum().reset_index()


def quietly(call: Any) -> Any:
    """Run a lifetimes call without its stdout dump of a failed optimisation or its warnings."""
    with (
        contextlib.redirect_stdout(io.StringIO()),
        warnings.catch_warnings(),
        np.errstate(all="ignore"),
    ):
        warnings.simplefilter("ignore")
        return call()


def _pareto_nll(log_params: np.ndarray, x, rec, age, w, penalizer: float) -> float:
    """Pareto/NBD negative mean log-likelihood per customer, normalised like BG/NBD's."""
    params = np.exp(log_params)
    ll = ParetoNBDFitter._conditional_log_likelihood(params, x, rec, age)
    value = -(w * ll).sum() / w.sum() + penalizer * float(np.sum(params**2))
    return float(value) if np.isfinite(value) else 1e300


def _fit_pareto(x, rec, age, w, penalizer: float, tol: float) -> ParetoNBDFitter:
    """Pareto/NBD by our own deterministic optimiser.

    lifetimes' ParetoNBDFitter runs Nelder-Mead from random numbers of numpy's global generator
    and never reports whether it converged (and Nelder-Mead needs ~800 likelihood evaluations,
    minutes at a million customers). We minimise the same likelihood (lifetimes' own
    `_conditional_log_likelihood`) over log-parameters from a fixed start with BFGS and keep
    scipy's convergence flag. The gradient is numerical (the likelihood goes through hyp2f1);
    central differences cost twice the evaluations of forward ones (~250 in all) but are
    accurate enough to pin s and beta, which the likelihood barely separates, to 1e-8. Only if
    BFGS fails do we let Nelder-Mead find the basin and BFGS polish from there.
    """
    scale = 1.0 / age.max()  # as lifetimes: time rescaled so that max T = 1
    args = (x, rec * scale, age * scale, w, penalizer)
    bfgs = {"method": "BFGS", "jac": "3-point", "options": {"gtol": tol}}
    result = minimize(_pareto_nll, np.zeros(4), args=args, **bfgs)
    if not result.success:
        coarse = minimize(
            _pareto_nll,
            result.x,
            args=args,
            method="Nelder-Mead",
            options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000, "maxfev": 8000},
        )
        result = minimize(_pareto_nll, coarse.x, args=args, **bfgs)
        if not result.success:
            raise ConvergenceError(f"Pareto/NBD did not converge: {result.message}")
    params = np.exp(result.x)
    params[1] /= scale
    params[3] /= scale
    fitter = ParetoNBDFitter(penalizer_coef=penalizer)
    fitter.params_ = pd.Series(params, index=list(PARAMETER_NAMES["pareto_nbd"]))
    fitter._scale = scale
    fitter._hessian_ = None
    fitter.predict = fitter.conditional_expected_number_of_purchases_up_to_time
    return fitter


def _purchase_log_likelihood(model: str, params: np.ndarray, x, rec, age, w) -> float:
    """Total unpenalised log-likelihood in the model's own time unit."""
    with np.errstate(all="ignore"):
        if model == "pareto_nbd":
            return float(
                (w * ParetoNBDFitter._conditional_log_likelihood(params, x, rec, age)).sum()
            )
        cls = BetaGeoFitter if model == "bgnbd" else ModifiedBetaGeoFitter
        return float(-cls._negative_log_likelihood(np.log(params), x, rec, age, w, 0.0) * w.sum())


def _fit_once(model: str, rows: pd.DataFrame, penalizer: float, tol: float) -> Any:
    x = rows["frequency"].to_numpy(dtype=float)
    rec = rows["recency"].to_numpy(dtype=float)
    age = rows["T"].to_numpy(dtype=float)
    w = rows["weight"].to_numpy(dtype=float)
    if model == "pareto_nbd":
        return _fit_pareto(x, rec, age, w, penalizer, tol)
    cls = BetaGeoFitter if model == "bgnbd" else ModifiedBetaGeoFitter
    return cls(penalizer_coef=penalizer).fit(x, rec, age, weights=w, tol=tol)


def _usable(fitter: Any) -> str | None:
    """Why fitted estimates cannot be used, or None. A prediction is probed because BG/NBD's
    expectations divide by (a - 1), so finite parameters can still give inf; per-customer
    predictions are checked again when scoring."""
    params = fitter.params_.to_numpy(dtype=float)
    if not np.all(np.isfinite(params)) or np.any(params <= 0):
        return f"non-finite or non-positive parameters {np.round(params, 6).tolist()}"
    with np.errstate(all="ignore"):
        expected = fitter.expected_number_of_purchases_up_to_time(1.0)
    if not np.isfinite(expected):
        return "parameters give non-finite predicted purchases"
    return None


def _insufficient(summary: pd.DataFrame, params: ClvParameters) -> str | None:
    repeat_buyers = int(customer_weights(summary)[summary["frequency"].to_numpy() > 0].sum())
    if repeat_buyers < params.min_repeat_buyers:
        return f"{repeat_buyers} repeat buyers, fewer than min_repeat_buyers {params.min_repeat_buyers}"
    history_days = float(summary["T"].max()) * params.days_per_unit
    if history_days < params.min_history_days:
        return (
            f"longest customer history {history_days:.0f} days, shorter than "
            f"min_history_days {params.min_history_days}"
        )
    return None


def _uncompressed(summary: pd.DataFrame) -> pd.DataFrame:
    rows = summary[["frequency", "recency", "T"]].astype(float).reset_index(drop=True)
    return rows.assign(weight=customer_weights(summary))


def fit_purchase_model(
    summary: pd.DataFrame,
    model: PurchaseModel = "bgnbd",
    params: ClvParameters | None = None,
    *,
    compressed: bool = True,
) -> FitResult:
    """Fit a purchase model to a purchase summary in `params.time_unit`, never raising on data.

    Fits on `compress`ed rows unless `compressed=False` (one row per customer: only for checking
    that compression changes nothing). Walks `RETRY_LADDER` until an attempt converges to usable
    estimates. Returns status
    `insufficient_data` (with the reason) when the data cannot identify the model, `failed` when
    every attempt failed (the messages of all attempts are in `message`).
    """
    if model not in PURCHASE_MODELS:
        raise ValueError(f"unknown purchase model {model!r}; expected one of {PURCHASE_MODELS}")
    params = params or ClvParameters()
    started = time.perf_counter()
    validate_summary(summary)
    customers = int(customer_weights(summary).sum())
    reason = "no customers" if customers == 0 else _insufficient(summary, params)
    if reason:
        return FitResult(model, "insufficient_data", customers=customers, message=reason)
    rows = compress(summary) if compressed else _uncompressed(summary)
    notes: list[str] = []
    for attempt, (penalizer, tol) in enumerate(RETRY_LADDER, start=1):
        try:
            fitter = quietly(lambda p=penalizer, t=tol: _fit_once(model, rows, p, t))
        except FIT_ERRORS as error:
            notes.append(
                f"attempt {attempt} (penalizer {penalizer}, tol {tol:g}): {type(error).__name__}"
            )
            continue
        problem = _usable(fitter)
        if problem:
            notes.append(f"attempt {attempt} (penalizer {penalizer}, tol {tol:g}): {problem}")
            continue
        values = fitter.params_.to_numpy(dtype=float)
        log_likelihood = _purchase_log_likelihood(
            model,
            values,
            rows["frequency"].to_numpy(dtype=float),
            rows["recency"].to_numpy(dtype=float),
            rows["T"].to_numpy(dtype=float),
            rows["weight"].to_numpy(dtype=float),
        )
        notes.append(f"attempt {attempt} (penalizer {penalizer}, tol {tol:g}): converged")
        return FitResult(
            model=model,
            status="ok",
            params=dict(zip(PARAMETER_NAMES[model], values.tolist(), strict=True)),
            log_likelihood=log_likelihood,
            converged=True,
            penalizer=penalizer,
            tolerance=tol,
            customers=customers,
            rows_fitted=len(rows),
            seconds=round(time.perf_counter() - started, 3),
            attempts=attempt,
            message="; ".join(notes),
            fitter=fitter,
        )
    return FitResult(
        model=model,
        status="failed",
        customers=customers,
        rows_fitted=len(rows),
        seconds=round(time.perf_counter() - started, 3),
        attempts=len(RETRY_LADDER),
        message="; ".join(notes),
    )
