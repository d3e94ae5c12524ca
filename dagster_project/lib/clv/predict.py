"""Per-history predictions of a fitted purchase model, and the heuristic used without one.

Everything takes arrays of (frequency, recency, T) in the model's time unit and returns arrays;
callers evaluate on distinct histories only and broadcast, so cost follows distinct histories.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, hyp2f1, roots_legendre

from dagster_project.lib.clv.fit import FitResult

# Gauss-Legendre nodes over the quantiles of the dropout probability's posterior (see
# `ModelPredictor.expected_active_time`): 64 nodes put the expectation within 1e-5 of adaptive
# quadrature on the CDNOW fit and on retail fits with a < 1.
QUANTILE_NODES, QUANTILE_WEIGHTS = roots_legendre(64)


def _as_float(values: object) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _mean_capped_exponential(h: float, shape: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """E[min(L, h)] for a lifetime L ~ Exponential(rate), rate ~ Gamma(shape, scale) per unit
    rate multiplier: the integral over s in [0, h] of (scale / (scale + s)) ** shape, which is the
    chance the lifetime outlasts s. Closed form, written with log1p/expm1 so that it stays exact
    where h / scale is tiny (the answer tends to h)."""
    u = h / scale
    with np.errstate(all="ignore"):
        log_growth = np.log1p(u)
        k = shape - 1.0
        general = -np.expm1(-k * log_growth) / (k * u)
        near_one = np.abs(k * log_growth) < 1e-8
        ratio = np.where(near_one, log_growth / u * (1.0 - k * log_growth / 2.0), general)
        ratio = np.where(u < 1e-12, 1.0, ratio)
    return h * ratio


@dataclass(frozen=True)
class ModelPredictor:
    """Predictions of a converged purchase model (lifetimes' formulas where they exist)."""

    fit: FitResult

    def probability_alive(self, x: np.ndarray, rec: np.ndarray, age: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            alive = self.fit.fitter.conditional_probability_alive(x, rec, age)
        return np.clip(_as_float(alive) * np.ones_like(x, dtype=float), 0.0, 1.0)

    def expected_purchases(
        self, t: float | np.ndarray, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """E[repeat purchases in (T, T + t] | history]. With x = recency = T = 0 (no history)
        this is the unconditional E[N(t)] of a new customer, used by the tracking plot.

        Pareto/NBD: lifetimes' formula. BG/NBD (Fader, Hardie & Lee 2005, eq. 10) and MBG/NBD:
        the same expectation, but with the hypergeometric term rewritten by Euler's
        transformation, 2F1(A, B; C; z) = (1 - z)^(C - A - B) 2F1(C - A, C - B; C; z), so that
        the term times ((alpha + T) / (alpha + T + t))^(r + x) = (1 - z)^(r + x) becomes
        (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; a + b + x - 1; z) (BG/NBD) or
        (1 - z)^(a - 1) 2F1(a + b - r, a - 1; a + b + x; z) (MBG/NBD). lifetimes takes the log
        of the untransformed 2F1, which is negative (so NaN) when a + b < 1 and x = 0, as on
        real retail data, and overflows for frequent buyers; this form does neither.
        """
        if self.fit.model == "pareto_nbd":
            with np.errstate(all="ignore"):
                expected = self.fit.fitter.conditional_expected_number_of_purchases_up_to_time(
                    t, x, rec, age
                )
            return np.maximum(_as_float(expected), 0.0)
        r, alpha, a, b = (self.fit.params[k] for k in ("r", "alpha", "a", "b"))
        t = _as_float(t)
        with np.errstate(all="ignore"):
            z = t / (alpha + age + t)
            if self.fit.model == "bgnbd":
                c = a + b + x - 1.0
                hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, c, z)
                dead_odds = np.where(x > 0, a / (b + x - 1.0), 0.0)
            else:
                c = a + b + x
                hyp = hyp2f1(a + b - r, a - 1.0, c, z)
                dead_odds = a / (b + x)
            alive_purchases = c / (a - 1.0) * (1.0 - hyp * (1.0 - z) ** (a - 1.0))
            odds = dead_odds * np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + rec)))
            expected = alive_purchases / (1.0 + odds)
        return np.maximum(_as_float(expected), 0.0)

    def probability_no_purchase(
        self, t: float, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """P(no purchase in (T, T + t] | history).

        BG/NBD and MBG/NBD: a customer can only drop out right after a purchase, so no purchase
        happens if they are already dead, or alive and their Poisson process stays silent for t.
        Given alive at T the rate's posterior is Gamma(r + x, alpha + T), whose Laplace transform
        gives the closed form  1 - P(alive) + P(alive) * ((alpha + T) / (alpha + T + t))^(r + x).
        Pareto/NBD: death can come during the window too; lifetimes'
        `conditional_probability_of_n_purchases_up_to_time(0, ...)` (Fader & Hardie 2006, note
        028) gives it exactly.
        """
        if self.fit.model == "pareto_nbd":
            with np.errstate(all="ignore"):
                p0 = self.fit.fitter.conditional_probability_of_n_purchases_up_to_time(
                    0, t, x, rec, age
                )
            return np.clip(_as_float(p0), 0.0, 1.0)
        r, alpha = self.fit.params["r"], self.fit.params["alpha"]
        alive = self.probability_alive(x, rec, age)
        silent = np.exp((r + x) * (np.log(alpha + age) - np.log(alpha + age + t)))
        return np.clip(1.0 - alive + alive * silent, 0.0, 1.0)

    def expected_active_time(
        self, h: float, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """E[time still alive within (T, T + h] | history]: P(alive) times the expected
        remaining lifetime of an alive customer, capped at h.

        The cap is needed: for BG/NBD the uncapped mean is E[1 / (lambda p)], infinite whenever
        a <= 1, which is what retail data usually gives.

        - Pareto/NBD: an alive customer's remaining lifetime is Exponential(mu) with
          mu | alive ~ Gamma(s, beta + T), so E[min(L, h)] has a closed form.
        - BG/NBD and MBG/NBD: an alive customer drops out after each future purchase with
          probability p, so the remaining lifetime is a geometric number of Exponential(lambda)
          gaps, i.e. Exponential(lambda p). Given alive, lambda ~ Gamma(r + x, alpha + T) and
          p ~ Beta(a, b + x) (BG/NBD: x purchases survived) or Beta(a, b + x + 1) (MBG/NBD: the
          first purchase too), independent. The integral over lambda is closed form for each
          p; the one over p runs on Gauss-Legendre nodes over p's posterior quantiles, which
          handles the mass that piles up near p = 0 when a < 1.
        """
        alive = self.probability_alive(x, rec, age)
        params = self.fit.params
        if self.fit.model == "pareto_nbd":
            capped = _mean_capped_exponential(
                h, np.full_like(age, params["s"]), params["beta"] + age
            )
            return alive * capped
        r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
        survived = x if self.fit.model == "bgnbd" else x + 1.0
        distinct, index = np.unique(survived, return_inverse=True)
        quantiles = (QUANTILE_NODES + 1.0) / 2.0
        # p at each node, per distinct number of purchases survived: shape (distinct, nodes).
        p = betaincinv(a, b + distinct[:, None], quantiles[None, :])
        p_nodes = p[index]
        with np.errstate(all="ignore"):
            # Given p, lambda * p ~ Gamma(r + x, (alpha + T) / p): the same capped mean.
            capped = _mean_capped_exponential(h, (r + x)[:, None], (alpha + age)[:, None] / p_nodes)
        capped = np.where(p_nodes > 0, capped, h)  # a customer who never drops out stays h
        return alive * (capped @ (QUANTILE_WEIGHTS / 2.0))


@dataclass(frozen=True)
class HeuristicPredictor:
    """What we say when no model could be fitted: a documented rule of thumb, not a model.

    - purchase rate: repeat purchases per unit of history, shrunk towards the pooled rate rho
      (total repeat purchases / total history of all customers) as if rho were a prior worth one
      purchase: rate = (x + 1) / (T + 1 / rho). A newcomer gets about rho, a long-standing
      customer about their own x / T. If nobody ever came back, rho = 0 and so is every rate.
    - probability alive: the chance that a customer still buying at that rate would have gone
      the time since their last purchase without buying, exp(-rate * (T - recency)).
    - expected purchases in t: P(alive) * rate * t; P(no purchase in t): 1 - P(alive) +
      P(alive) * exp(-rate * t).
    """

    pooled_rate: float

    @classmethod
    def from_summary(
        cls, x: np.ndarray, age: np.ndarray, weight: np.ndarray | None = None
    ) -> HeuristicPredictor:
        w = np.ones_like(x, dtype=float) if weight is None else _as_float(weight)
        exposure = float(np.sum(w * age))
        return cls(float(np.sum(w * x)) / exposure if exposure > 0 else 0.0)

    def rate(self, x: np.ndarray, age: np.ndarray) -> np.ndarray:
        if self.pooled_rate <= 0:
            return np.zeros_like(x, dtype=float)
        return (x + 1.0) / (age + 1.0 / self.pooled_rate)

    def probability_alive(self, x: np.ndarray, rec: np.ndarray, age: np.ndarray) -> np.ndarray:
        return np.exp(-self.rate(x, age) * (age - rec))

    def expected_purchases(
        self, t: float | np.ndarray, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        return self.probability_alive(x, rec, age) * self.rate(x, age) * t

    def probability_no_purchase(
        self, t: float, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        alive = self.probability_alive(x, rec, age)
        return 1.0 - alive + alive * np.exp(-self.rate(x, age) * t)

    def expected_active_time(
        self, h: float, x: np.ndarray, rec: np.ndarray, age: np.ndarray
    ) -> np.ndarray:
        """P(alive) * h: the rule of thumb has no dropout process, so a customer alive now is
        taken to stay for the whole horizon (an upper bound, said by `method`)."""
        return self.probability_alive(x, rec, age) * h


Predictor = ModelPredictor | HeuristicPredictor


def predictor_for(fit: FitResult, x: np.ndarray, age: np.ndarray, weight=None) -> Predictor:
    """The model's predictor when its fit is usable, else the heuristic on the same data."""
    if fit.ok:
        return ModelPredictor(fit)
    return HeuristicPredictor.from_summary(x, age, weight)


def days_to_first_expected_purchase(
    predictor: Predictor,
    x: np.ndarray,
    rec: np.ndarray,
    age: np.ndarray,
    horizon_days: int,
    days_per_unit: float,
) -> np.ndarray:
    """Smallest whole number of days d in [1, horizon] with E[purchases in d days] >= 1, NaN when
    the expectation stays below 1 over the horizon (a likely churned or very slow customer).

    E[N(d)] increases with d, so a bisection on whole days per history finds it in about
    log2(horizon) evaluations, all vectorised.
    """
    n = len(x)
    result = np.full(n, np.nan)
    reach = predictor.expected_purchases(horizon_days / days_per_unit, x, rec, age) >= 1.0
    idx = np.flatnonzero(reach)
    lo = np.zeros(len(idx))  # E[N(lo)] < 1 (E[N(0)] = 0)
    hi = np.full(len(idx), float(horizon_days))  # E[N(hi)] >= 1
    while len(idx) and np.any(hi - lo > 1):
        mid = np.floor((lo + hi) / 2)
        e = predictor.expected_purchases(mid / days_per_unit, x[idx], rec[idx], age[idx])
        hit = e >= 1.0
        hi = np.where(hit, mid, hi)
        lo = np.where(hit, lo, mid)
    result[idx] = hi
    return result
