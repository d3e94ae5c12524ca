"""Fitting unattended: the retry ladder, insufficient data, spend statuses, bad summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import ConvergenceError

from dagster_project.lib.clv import (
    RETRY_LADDER,
    ClvParameters,
    fit_purchase_model,
    fit_spend_model,
    validate_summary,
)
from dagster_project.lib.clv import fit as fit_module


def failing_first(monkeypatch: pytest.MonkeyPatch, failures: int, how: str = "raise") -> list:
    """Make the first `failures` fit attempts fail; returns the (penalizer, tol) of each call."""
    calls: list[tuple[float, float]] = []
    real = fit_module._fit_once

    def flaky(model, rows, penalizer, tol):
        calls.append((penalizer, tol))
        if len(calls) <= failures:
            if how == "raise":
                raise ConvergenceError("The model did not converge.")
            fitter = real(model, rows, penalizer, tol)
            fitter.params_.iloc[0] = np.nan
            return fitter
        return real(model, rows, penalizer, tol)

    monkeypatch.setattr(fit_module, "_fit_once", flaky)
    return calls


def test_a_convergence_error_walks_down_the_ladder(cdnow, monkeypatch):
    calls = failing_first(monkeypatch, failures=2)
    fit = fit_purchase_model(cdnow.calibration_summary, "bgnbd")
    assert calls == list(RETRY_LADDER[:3])
    assert fit.ok and fit.converged
    assert fit.attempts == 3
    assert (fit.penalizer, fit.tolerance) == RETRY_LADDER[2]
    assert "attempt 1" in fit.message and "ConvergenceError" in fit.message


def test_non_finite_parameters_count_as_a_failed_attempt(cdnow, monkeypatch):
    failing_first(monkeypatch, failures=1, how="nan")
    fit = fit_purchase_model(cdnow.calibration_summary, "mbgnbd")
    assert fit.ok and fit.attempts == 2
    assert all(np.isfinite(v) for v in fit.params.values())
    assert "non-finite" in fit.message


def test_when_every_attempt_fails_the_result_says_so(cdnow, monkeypatch):
    failing_first(monkeypatch, failures=len(RETRY_LADDER))
    fit = fit_purchase_model(cdnow.calibration_summary, "bgnbd")
    assert fit.status == "failed" and not fit.converged
    assert fit.attempts == len(RETRY_LADDER)
    assert fit.params == {} and fit.fitter is None
    assert fit.message.count("ConvergenceError") == len(RETRY_LADDER)


def test_penalised_ladder_step_shrinks_estimates(cdnow):
    # The ladder's later steps really are penalised fits: with a penalizer the estimates move.
    free = fit_module._fit_once("bgnbd", fit_module.compress(cdnow.calibration_summary), 0.0, 1e-7)
    tied = fit_module._fit_once("bgnbd", fit_module.compress(cdnow.calibration_summary), 0.1, 1e-7)
    assert tied.params_["b"] < free.params_["b"]


def small_summary(customers: int, repeaters: int, max_t: float) -> pd.DataFrame:
    x = np.zeros(customers)
    x[:repeaters] = 2
    t = np.linspace(max_t / 2, max_t, customers)
    rec = np.where(x > 0, t / 2, 0.0)
    return pd.DataFrame(
        {"customer_key": np.arange(customers), "frequency": x, "recency": rec, "T": t}
    ).assign(monetary_value=np.where(x > 0, 20.0, 0.0))


def test_too_few_repeat_buyers_is_insufficient_data():
    params = ClvParameters(time_unit="D", min_repeat_buyers=50)
    fit = fit_purchase_model(small_summary(500, 49, 400.0), "bgnbd", params)
    assert fit.status == "insufficient_data"
    assert "49 repeat buyers" in fit.message
    assert fit_purchase_model(small_summary(500, 50, 400.0), "bgnbd", params).status != (
        "insufficient_data"
    )


def test_too_short_a_history_is_insufficient_data():
    params = ClvParameters(time_unit="W", min_history_days=90)
    fit = fit_purchase_model(small_summary(500, 200, 12.0), "pareto_nbd", params)  # 84 days
    assert fit.status == "insufficient_data"
    assert "84 days" in fit.message


def test_no_customers_is_insufficient_data():
    empty = small_summary(0, 0, 10.0)
    assert fit_purchase_model(empty, "bgnbd").status == "insufficient_data"
    assert fit_spend_model(empty).status == "no_spend_data"


def test_spend_without_amounts_says_no_spend_data():
    summary = small_summary(500, 200, 400.0).assign(monetary_value=0.0)
    assert fit_spend_model(summary).status == "no_spend_data"
    assert fit_spend_model(summary.drop(columns="monetary_value")).status == "no_spend_data"
    assert fit_spend_model(summary.assign(monetary_value=np.nan)).status == "no_spend_data"


def test_amounts_without_repeat_buyers_are_insufficient_not_missing():
    summary = small_summary(500, 0, 400.0).assign(total_spend=25.0)
    fit = fit_spend_model(summary)
    assert fit.status == "insufficient_data" and fit.customers == 0
    assert fit_spend_model(summary.drop(columns="monetary_value")).status == "insufficient_data"


def test_spend_with_few_buyers_is_insufficient_and_ignores_non_positive_means():
    summary = small_summary(500, 40, 400.0)
    summary.loc[:14, "monetary_value"] = -5.0  # net returns: not a Gamma-Gamma buyer
    fit = fit_spend_model(summary, ClvParameters(min_spend_buyers=30))
    assert fit.status == "insufficient_data"
    assert fit.customers == 25


def test_spend_correlation_is_recorded_and_flagged(cdnow):
    summary = cdnow.calibration_summary.copy()
    buyers = summary["frequency"] > 0
    # Make spend grow with frequency: the independence Gamma-Gamma assumes no longer holds.
    summary.loc[buyers, "monetary_value"] = 10.0 + 5.0 * summary.loc[buyers, "frequency"]
    fit = fit_spend_model(summary)
    assert fit.correlation == pytest.approx(
        np.corrcoef(summary.loc[buyers, "frequency"], summary.loc[buyers, "monetary_value"])[0, 1]
    )
    assert fit.correlation > 0.9
    assert "correlation" in fit.message


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"frequency": 1.5}, "whole number"),
        ({"recency": -1.0}, "recency must be >= 0"),
        ({"T": 0.5, "recency": 1.0, "frequency": 1.0}, "T must be >= recency"),
        ({"frequency": 0.0, "recency": 3.0}, "recency must be 0"),
    ],
)
def test_invalid_summaries_are_rejected_with_the_rule_and_a_customer(change, rule):
    summary = small_summary(10, 5, 40.0)
    for column, value in change.items():
        summary.loc[3, column] = value
    with pytest.raises(ValueError, match=rule) as error:
        validate_summary(summary)
    assert "e.g. 3" in str(error.value)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="lacks column"):
        fit_purchase_model(small_summary(10, 5, 40.0).drop(columns="T"))
