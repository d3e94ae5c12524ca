"""Campaign lift: how the treated group did against its control group after the campaign.

Per group: size, buyers (a purchase in the window), purchase rate and revenue per head. The lift
is the treated minus the control value, with a 95 % confidence interval from the normal
approximation: for the purchase rate the unpooled (Wald) interval of a difference of two
proportions, for revenue per head Welch's interval of a difference of two means. Incremental
buyers and revenue scale the per-head lift to the treated group's size.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Lift:
    treated: int
    control: int
    treated_buyers: int
    control_buyers: int
    treated_purchase_rate: float
    control_purchase_rate: float
    purchase_rate_lift: float
    purchase_rate_lift_low: float
    purchase_rate_lift_high: float
    treated_revenue_per_head: float
    control_revenue_per_head: float
    revenue_per_head_lift: float
    revenue_per_head_lift_low: float
    revenue_per_head_lift_high: float
    incremental_buyers: float
    incremental_revenue: float

    def as_dict(self) -> dict:
        return asdict(self)


def _interval(difference: float, variance: float) -> tuple[float, float]:
    half = Z_95 * math.sqrt(max(variance, 0.0))
    return difference - half, difference + half


def campaign_lift(outcomes: pd.DataFrame) -> Lift | None:
    """`outcomes`: one row per campaign member with `is_control`, `revenue` (in the window, 0 if
    none) and `purchased`. None when either group is empty (no lift can be measured)."""
    treated = outcomes[~outcomes["is_control"]]
    control = outcomes[outcomes["is_control"]]
    n_t, n_c = len(treated), len(control)
    if n_t == 0 or n_c == 0:
        return None
    p_t, p_c = treated["purchased"].mean(), control["purchased"].mean()
    rate_low, rate_high = _interval(p_t - p_c, p_t * (1 - p_t) / n_t + p_c * (1 - p_c) / n_c)
    r_t, r_c = treated["revenue"].astype(float), control["revenue"].astype(float)
    var_t = float(np.var(r_t, ddof=1)) if n_t > 1 else 0.0
    var_c = float(np.var(r_c, ddof=1)) if n_c > 1 else 0.0
    mean_t, mean_c = float(r_t.mean()), float(r_c.mean())
    revenue_low, revenue_high = _interval(mean_t - mean_c, var_t / n_t + var_c / n_c)
    return Lift(
        treated=n_t,
        control=n_c,
        treated_buyers=int(treated["purchased"].sum()),
        control_buyers=int(control["purchased"].sum()),
        treated_purchase_rate=float(p_t),
        control_purchase_rate=float(p_c),
        purchase_rate_lift=float(p_t - p_c),
        purchase_rate_lift_low=rate_low,
        purchase_rate_lift_high=rate_high,
        treated_revenue_per_head=mean_t,
        control_revenue_per_head=mean_c,
        revenue_per_head_lift=mean_t - mean_c,
        revenue_per_head_lift_low=revenue_low,
        revenue_per_head_lift_high=revenue_high,
        incremental_buyers=float((p_t - p_c) * n_t),
        incremental_revenue=(mean_t - mean_c) * n_t,
    )
