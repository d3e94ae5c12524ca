"""Per-customer scores: ranges, internal consistency, discounting, and the churn formula checked
against a Monte Carlo that knows nothing of our closed forms."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.clv import (
    ClvParameters,
    FitResult,
    ModelPredictor,
    fit_purchase_model,
    fit_spend_model,
    score_customers,
)
from dagster_project.lib.clv.spend import margin_summary

AS_OF = date(1997, 9, 30)
WEEKS = ClvParameters(time_unit="W", horizon_days=365)


@pytest.fixture(scope="module", params=["bgnbd", "mbgnbd", "pareto_nbd"])
def fits(request, cdnow):
    summary = cdnow.calibration_summary.assign(total_spend=lambda s: s["monetary_value"] * 3 + 10)
    purchases = fit_purchase_model(summary, request.param, WEEKS)
    assert purchases.ok
    return summary, purchases, fit_spend_model(summary, WEEKS)


@pytest.fixture(scope="module")
def scores(fits):
    summary, purchases, spend = fits
    return score_customers(summary, purchases, spend, WEEKS, AS_OF)


def test_one_row_per_customer_in_order(fits, scores):
    summary, purchases, _ = fits
    assert scores["customer_key"].tolist() == summary["customer_key"].tolist()
    assert (scores["model"] == purchases.model).all()
    assert (scores["method"] == "model").all() and (scores["spend_method"] == "model").all()
    assert (scores["as_of_date"] == pd.Timestamp(AS_OF)).all()


def test_probabilities_are_probabilities(scores):
    for column in ("probability_alive", "churn_probability_90d"):
        assert scores[column].between(0.0, 1.0).all(), column


def test_expected_purchases_grow_with_the_horizon(scores):
    e30, e90, e365 = (scores[f"expected_purchases_{d}d"] for d in (30, 90, 365))
    assert (e30 >= 0).all()
    assert (e30 <= e90).all() and (e90 <= e365).all()
    assert (e30 < e365).mean() > 0.99


def test_churn_is_consistent_with_alive_and_expected_purchases(scores):
    churn = scores["churn_probability_90d"]
    # The dead never buy: no purchase is at least as likely as being dead.
    assert (churn >= 1.0 - scores["probability_alive"] - 1e-12).all()
    # Markov: P(at least one purchase) <= E[purchases].
    assert (1.0 - churn <= scores["expected_purchases_90d"] + 1e-9).all()
    # More expected purchases, less churn, on the whole.
    assert np.corrcoef(churn, scores["expected_purchases_90d"])[0, 1] < -0.5


def test_clv_is_expected_purchases_times_spend_without_discounting(scores):
    assert (scores["predicted_clv"] >= 0).all()
    expected = scores["expected_purchases_365d"] * scores["predicted_spend_per_purchase"]
    np.testing.assert_allclose(scores["predicted_clv"], expected, rtol=1e-12)


def test_discounting_lowers_clv(fits, scores):
    summary, purchases, spend = fits
    discounted = score_customers(
        summary, purchases, spend, ClvParameters(time_unit="W", discount_rate=0.1), AS_OF
    )
    positive = scores["predicted_clv"] > 0
    assert (discounted["predicted_clv"][positive] < scores["predicted_clv"][positive]).all()
    # At 10 % a year, a year's spend is worth between 1/1.1 and 1 of its undiscounted value.
    ratio = discounted["predicted_clv"][positive] / scores["predicted_clv"][positive]
    assert ratio.between(1 / 1.1 - 1e-9, 1.0).all()
    # The other columns do not depend on the discount rate.
    pd.testing.assert_series_equal(discounted["probability_alive"], scores["probability_alive"])


def test_spend_shrinks_towards_the_population_mean(fits, scores):
    summary, _, spend = fits
    p, q, v = spend.params["p"], spend.params["q"], spend.params["v"]
    population = p * v / (q - 1)
    non_repeaters = summary["frequency"] == 0
    np.testing.assert_allclose(
        scores.loc[non_repeaters, "predicted_spend_per_purchase"], population, rtol=1e-12
    )
    buyers = ~non_repeaters
    own = summary.loc[buyers, "monetary_value"]
    predicted = scores.loc[buyers, "predicted_spend_per_purchase"]
    lo, hi = np.minimum(own, population), np.maximum(own, population)
    assert ((predicted >= lo - 1e-9) & (predicted <= hi + 1e-9)).all()


def test_historic_clv_is_total_spend(fits, scores):
    summary, _, _ = fits
    np.testing.assert_allclose(scores["historic_clv"], summary["total_spend"])


def test_next_purchase_date_is_where_expected_purchases_reach_one(fits, scores):
    summary, purchases, _ = fits
    predictor = ModelPredictor(purchases)
    x, rec, age = (summary[c].to_numpy(dtype=float) for c in ("frequency", "recency", "T"))
    has_date = scores["expected_next_purchase_date"].notna().to_numpy()
    assert 0 < has_date.sum() < len(scores)
    days = (scores["expected_next_purchase_date"][has_date] - pd.Timestamp(AS_OF)).dt.days
    days = days.to_numpy(dtype=float)
    assert ((days >= 1) & (days <= WEEKS.horizon_days)).all()
    at = predictor.expected_purchases(days / 7, x[has_date], rec[has_date], age[has_date])
    before = predictor.expected_purchases((days - 1) / 7, x[has_date], rec[has_date], age[has_date])
    assert (at >= 1.0).all() and (before < 1.0).all()
    horizon = predictor.expected_purchases(365 / 7, x[~has_date], rec[~has_date], age[~has_date])
    assert (horizon < 1.0).all()


@dataclass(frozen=True)
class PosteriorDraws:
    """Customers drawn from a fitted model's prior, each weighted by the likelihood of the
    history (x, tx, T) split by whether they are alive or already dead at T: what the Monte
    Carlo checks below share. `dropout` is mu (Pareto/NBD) or p (BG/NBD, MBG/NBD)."""

    rng: np.random.Generator
    lam: np.ndarray
    dropout: np.ndarray
    alive: np.ndarray
    dead: np.ndarray


def posterior_draws(fit: FitResult, x: float, tx: float, age: float, seed: int) -> PosteriorDraws:
    rng = np.random.default_rng(seed)
    n = 400_000
    p = fit.params
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
    if fit.model == "pareto_nbd":
        mu = rng.gamma(p["s"], 1.0 / p["beta"], n)
        alive = lam**x * np.exp(-(lam + mu) * age)
        # died at tau in (tx, T] after the last purchase at tx.
        dead = (
            lam**x
            * np.exp(-lam * tx)
            * mu
            / (lam + mu)
            * (np.exp(-(mu) * tx) - np.exp(-mu * age - lam * (age - tx)))
        )
        return PosteriorDraws(rng, lam, mu, alive, dead)
    q = rng.beta(p["a"], p["b"], n)
    if fit.model == "bgnbd":  # dropout only right after a repeat purchase
        alive = lam**x * np.exp(-lam * age) * (1 - q) ** x
        dead = (x > 0) * lam**x * np.exp(-lam * tx) * q * (1 - q) ** max(x - 1, 0)
    else:  # MBG/NBD: also right after the first purchase
        alive = lam**x * np.exp(-lam * age) * (1 - q) ** (x + 1)
        dead = lam**x * np.exp(-lam * tx) * q * (1 - q) ** x
    return PosteriorDraws(rng, lam, q, alive, dead)


def posterior_monte_carlo(fit: FitResult, x: float, tx: float, age: float, t: float) -> float:
    """P(no purchase in (T, T + t] | x, tx, T) by brute force: the alive customers' chance of no
    purchase in the window (Pareto/NBD: death may come first), the dead never buy. Independent
    of lifetimes' formulas and of our closed form."""
    d = posterior_draws(fit, x, tx, age, seed=7)
    if fit.model == "pareto_nbd":
        lam, mu = d.lam, d.dropout
        silent = mu / (lam + mu) + lam / (lam + mu) * np.exp(-(lam + mu) * t)
    else:
        silent = np.exp(-d.lam * t)
    return float((d.dead.sum() + (d.alive * silent).sum()) / (d.dead.sum() + d.alive.sum()))


@pytest.mark.parametrize(
    ("x", "tx", "age"), [(0, 0.0, 30.0), (1, 2.0, 38.0), (2, 20.0, 38.0), (4, 35.0, 38.0)]
)
def test_churn_probability_matches_a_monte_carlo_of_the_model(fits, x, tx, age):
    _, purchases, _ = fits
    t = 90 / 7
    ours = ModelPredictor(purchases).probability_no_purchase(
        t, np.array([float(x)]), np.array([tx]), np.array([age])
    )[0]
    assert ours == pytest.approx(posterior_monte_carlo(purchases, x, tx, age, t), abs=0.01)


def remaining_lifetime_monte_carlo(fit: FitResult, x: float, tx: float, age: float, h: float):
    """E[time alive in (T, T + h] | x, tx, T] by brute force: the dead add nothing; for the alive
    a future lifetime is drawn from the model's story (BG/NBD, MBG/NBD: a geometric number of
    purchases, the last one the dropout, each after an exponential gap; Pareto/NBD: an
    exponential)."""
    d = posterior_draws(fit, x, tx, age, seed=11)
    if fit.model == "pareto_nbd":
        lifetime = d.rng.exponential(1.0 / d.dropout)
    else:
        purchases_until_dropout = d.rng.geometric(np.maximum(d.dropout, 1e-300))
        lifetime = d.rng.gamma(purchases_until_dropout, 1.0 / d.lam)
    return float((d.alive * np.minimum(lifetime, h)).sum() / (d.dead.sum() + d.alive.sum()))


@pytest.mark.parametrize(
    ("x", "tx", "age"), [(0, 0.0, 30.0), (1, 2.0, 38.0), (2, 20.0, 38.0), (4, 35.0, 38.0)]
)
def test_remaining_lifetime_matches_a_monte_carlo_of_the_model(fits, x, tx, age):
    _, purchases, _ = fits
    h = 1825 / 7
    ours = ModelPredictor(purchases).expected_active_time(
        h, np.array([float(x)]), np.array([tx]), np.array([age])
    )[0]
    assert ours == pytest.approx(
        remaining_lifetime_monte_carlo(purchases, x, tx, age, h), abs=0.015 * h
    )


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
def test_remaining_lifetime_quadrature_matches_adaptive_integration(cdnow, model):
    # The double integral, by scipy's adaptive quadrature, of the chance of still being alive at
    # s over s in [0, h] and the dropout probability's Beta posterior; given q, that chance is the
    # Laplace transform of the purchase rate's Gamma posterior at q s.
    from scipy import integrate, stats

    purchases = fit_purchase_model(cdnow.calibration_summary, model, WEEKS)
    r, alpha, a, b = (purchases.params[k] for k in ("r", "alpha", "a", "b"))
    h = 1825 / 7
    for x, tx, age in [(0.0, 0.0, 38.0), (3.0, 30.0, 38.0), (12.0, 37.0, 38.0)]:
        survived = x if model == "bgnbd" else x + 1
        dropout_posterior = stats.beta(a, b + survived)

        def capped_lifetime(q: float, x=x, age=age) -> float:
            return integrate.quad(
                lambda s: ((alpha + age) / (alpha + age + q * s)) ** (r + x), 0, h, limit=200
            )[0]

        expected = integrate.quad(
            lambda q, f=capped_lifetime, d=dropout_posterior: d.pdf(q) * f(q), 0, 1, limit=200
        )[0]
        predictor = ModelPredictor(purchases)
        history = (np.array([x]), np.array([tx]), np.array([age]))
        alive = predictor.probability_alive(*history)[0]
        ours = predictor.expected_active_time(h, *history)[0]
        assert ours == pytest.approx(alive * expected, rel=1e-4)


def test_remaining_lifetime_is_within_the_horizon_and_shorter_for_the_lapsed(fits, scores):
    days = scores["expected_remaining_days"]
    horizon = WEEKS.lifetime_horizon_days
    assert (days >= 0).all()
    assert (days <= scores["probability_alive"] * horizon + 1e-6).all()
    # The likelier someone is gone, the shorter they are expected to stay, on the whole.
    assert np.corrcoef(days, scores["probability_alive"])[0, 1] > 0.6


def test_margin_clv_follows_the_margin_share_when_every_purchase_keeps_the_same_share(fits):
    # Gamma-Gamma is scale-free: amounts times 0.3 give the same p and q and 0.3 v, so the
    # predicted margin per purchase is 0.3 times the predicted spend. One customer whose margins
    # are not known gets none.
    summary, purchases, spend = fits
    with_margins = summary.assign(
        monetary_margin=summary["monetary_value"] * 0.3, total_margin=summary["total_spend"] * 0.3
    )
    unknown = int(np.flatnonzero(summary["frequency"].to_numpy() == 0)[0])  # not in the fit
    with_margins.loc[with_margins.index[unknown], ["monetary_margin", "total_margin"]] = np.nan
    margin = fit_spend_model(margin_summary(with_margins), WEEKS, "gamma_gamma_margin")
    assert margin.ok and margin.model == "gamma_gamma_margin"
    assert margin.params["p"] == pytest.approx(spend.params["p"], rel=1e-3)
    assert margin.params["v"] == pytest.approx(0.3 * spend.params["v"], rel=1e-3)
    scores = score_customers(with_margins, purchases, spend, WEEKS, AS_OF, margin_fit=margin)
    assert (scores["margin_method"] == "model").all()
    known = scores.drop(index=scores.index[unknown])
    np.testing.assert_allclose(
        known["predicted_margin_per_purchase"],
        0.3 * known["predicted_spend_per_purchase"],
        rtol=2e-3,
    )
    np.testing.assert_allclose(
        known["predicted_margin_clv"], 0.3 * known["predicted_clv"], rtol=2e-3
    )
    margins = ["predicted_margin_per_purchase", "predicted_margin_clv"]
    assert scores.iloc[unknown][margins].isna().all()


def test_insufficient_fit_falls_back_to_the_heuristic_without_raising():
    summary = pd.DataFrame(
        {
            "customer_key": ["a", "b", "c", "d"],
            "frequency": [0.0, 1.0, 3.0, 0.0],
            "recency": [0.0, 10.0, 40.0, 0.0],
            "T": [5.0, 50.0, 45.0, 0.0],
            "monetary_value": [0.0, 12.0, 30.0, 0.0],
            "total_spend": [8.0, 20.0, 100.0, 15.0],
        }
    )
    params = ClvParameters(time_unit="D")
    purchases = fit_purchase_model(summary, "bgnbd", params)
    spend = fit_spend_model(summary, params)
    assert purchases.status == spend.status == "insufficient_data"
    scores = score_customers(summary, purchases, spend, params, AS_OF)
    assert (scores["method"] == "heuristic").all() and (scores["spend_method"] == "heuristic").all()
    margins = ["predicted_margin_per_purchase", "predicted_margin_clv"]
    assert scores[margins].isna().all(axis=None) and (scores["margin_method"] == "none").all()
    numbers = scores.drop(columns=margins).select_dtypes("number")
    assert np.isfinite(numbers.to_numpy()).all()
    assert scores["probability_alive"].between(0, 1).all()
    assert scores["churn_probability_90d"].between(0, 1).all()
    assert (scores["expected_purchases_30d"] <= scores["expected_purchases_365d"]).all()
    # The customer who bought 3 times in 45 days and was last seen 5 days ago outranks the one
    # who came back once 40 days ago.
    by_key = scores.set_index("customer_key")
    assert by_key.loc["c", "expected_purchases_90d"] > by_key.loc["b", "expected_purchases_90d"]
    assert by_key.loc["c", "probability_alive"] > by_key.loc["b", "probability_alive"]
    # Spend: own mean repeat value where known, else the repeat buyers' mean.
    assert by_key.loc["c", "predicted_spend_per_purchase"] == 30.0
    assert by_key.loc["a", "predicted_spend_per_purchase"] == 21.0
    # Pooled rate 4 repeats / 100 days; heuristic rate of "c" = (3 + 1) / (45 + 25).
    rate_c = 4 / 70
    alive_c = np.exp(-rate_c * 5)
    assert by_key.loc["c", "probability_alive"] == pytest.approx(alive_c)
    assert by_key.loc["c", "expected_purchases_30d"] == pytest.approx(alive_c * rate_c * 30)
    next_c = by_key.loc["c", "expected_next_purchase_date"]
    assert next_c == pd.Timestamp(AS_OF + timedelta(days=int(np.ceil(1 / (alive_c * rate_c)))))


def test_scores_are_the_same_for_the_same_history(cdnow):
    summary = cdnow.calibration_summary
    doubled = pd.concat([summary, summary.assign(customer_key=summary["customer_key"] + 10**6)])
    purchases = fit_purchase_model(summary, "bgnbd")
    spend = fit_spend_model(summary)
    scores = score_customers(doubled, purchases, spend, WEEKS, AS_OF)
    first, second = scores.iloc[: len(summary)], scores.iloc[len(summary) :]
    numeric = ["probability_alive", "expected_purchases_90d", "predicted_clv"]
    np.testing.assert_array_equal(first[numeric].to_numpy(), second[numeric].to_numpy())


def test_one_time_buyers_get_their_mean_purchase_as_heuristic_spend():
    summary = pd.DataFrame(
        {
            "customer_key": [1, 2, 3],
            "frequency": [0.0, 0.0, 0.0],
            "recency": [0.0, 0.0, 0.0],
            "T": [10.0, 20.0, 30.0],
            "monetary_value": [0.0, 0.0, 0.0],
            "total_spend": [10.0, 20.0, 0.0],
        }
    )
    params = ClvParameters(time_unit="D")
    spend = fit_spend_model(summary, params)
    scores = score_customers(
        summary, fit_purchase_model(summary, "bgnbd", params), spend, params, AS_OF
    )
    assert spend.status == "insufficient_data"
    assert (scores["predicted_spend_per_purchase"] == 15.0).all()
    assert (scores["predicted_clv"] == 0.0).all()  # nobody ever came back: no purchases expected


def retail_like_fit(model: str) -> FitResult:
    """Estimates like those of the online-retail data (a + b < 1), set by hand."""
    from lifetimes import BetaGeoFitter, ModifiedBetaGeoFitter

    params = {"r": 0.74, "alpha": 7.2, "a": 0.052, "b": 0.73}
    fitter = (BetaGeoFitter if model == "bgnbd" else ModifiedBetaGeoFitter)()
    fitter.params_ = pd.Series(params)
    return FitResult(model, "ok", params=params, converged=True, fitter=fitter)


def monte_carlo_expected(fit: FitResult, x: float, tx: float, age: float, t: float) -> float:
    """E[purchases in (T, T + t] | history] by likelihood-weighted prior draws: an alive
    customer with rate lam who drops out after each purchase with probability q makes
    (1 - exp(-lam q t)) / q purchases in t on average (computed with expm1: with a this small,
    q is often below 1e-10, where 1 - exp(-x) loses every digit)."""
    rng = np.random.default_rng(3)
    n = 400_000
    p = fit.params
    lam = rng.gamma(p["r"], 1.0 / p["alpha"], n)
    q = rng.beta(p["a"], p["b"], n)
    extra = 1 if fit.model == "mbgnbd" else 0  # MBG/NBD may also drop out at the first purchase
    alive = lam**x * np.exp(-lam * age) * (1 - q) ** (x + extra)
    if fit.model == "bgnbd":
        dead = (x > 0) * lam**x * np.exp(-lam * tx) * q * (1 - q) ** max(x - 1, 0)
    else:
        dead = lam**x * np.exp(-lam * tx) * q * (1 - q) ** x
    future = -np.expm1(-lam * q * t) / q
    return float((alive * future).sum() / (alive.sum() + dead.sum()))


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(("x", "tx", "age"), [(0, 0.0, 20.0), (3, 30.0, 40.0)])
def test_expected_purchases_stay_finite_where_lifetimes_gives_nan(model, x, tx, age):
    # lifetimes takes log(2F1) and gets NaN for one-time buyers when a + b < 1; our Euler-
    # transformed form must give the model's expectation instead.
    fit = retail_like_fit(model)
    t = 13.0
    ours = ModelPredictor(fit).expected_purchases(t, np.array([x]), np.array([tx]), np.array([age]))
    assert np.isfinite(ours).all()
    assert ours[0] == pytest.approx(monte_carlo_expected(fit, x, tx, age, t), rel=0.03)


def test_a_history_the_model_cannot_score_falls_back_alone(cdnow, monkeypatch):
    summary = cdnow.calibration_summary
    purchases = fit_purchase_model(summary, "bgnbd")
    real = ModelPredictor.expected_purchases

    def broken_for_one_timers(self, t, x, rec, age):
        values = real(self, t, x, rec, age)
        return np.where(x == 0, np.nan, values)

    monkeypatch.setattr(ModelPredictor, "expected_purchases", broken_for_one_timers)
    scores = score_customers(summary, purchases, fit_spend_model(summary), WEEKS, AS_OF)
    one_timers = (summary["frequency"] == 0).to_numpy()
    assert (scores["method"][one_timers] == "heuristic").all()
    assert (scores["method"][~one_timers] == "model").all()
    no_margins = ["historic_clv", "predicted_margin_per_purchase", "predicted_margin_clv"]
    assert np.isfinite(scores.drop(columns=no_margins).select_dtypes("number")).all(axis=None)
