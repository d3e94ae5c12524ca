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


@dataclass(frozen=True)
class GroupStats:
    """One group's outcomes in sufficient statistics: size, buyers, revenue sum and its squares."""

    size: int
    buyers: int
    revenue: float
    revenue_squares: float

    @property
    def purchase_rate(self) -> float:
        return self.buyers / self.size

    @property
    def revenue_per_head(self) -> float:
        return self.revenue / self.size

    @property
    def revenue_variance(self) -> float:
        """Sample variance of revenue per head (0 for a group of one)."""
        if self.size < 2:
            return 0.0
        mean = self.revenue_per_head
        return max(self.revenue_squares - self.size * mean * mean, 0.0) / (self.size - 1)


def lift_from_stats(treated: GroupStats, control: GroupStats) -> Lift | None:
    """The lift of `treated` over `control`; None when either group is empty."""
    if treated.size == 0 or control.size == 0:
        return None
    p_t, p_c = treated.purchase_rate, control.purchase_rate
    rate_low, rate_high = _interval(
        p_t - p_c, p_t * (1 - p_t) / treated.size + p_c * (1 - p_c) / control.size
    )
    mean_t, mean_c = treated.revenue_per_head, control.revenue_per_head
    revenue_low, revenue_high = _interval(
        mean_t - mean_c,
        treated.revenue_variance / treated.size + control.revenue_variance / control.size,
    )
    return Lift(
        treated=treated.size,
        control=control.size,
        treated_buyers=treated.buyers,
        control_buyers=control.buyers,
        treated_purchase_rate=p_t,
        control_purchase_rate=p_c,
        purchase_rate_lift=p_t - p_c,
        purchase_rate_lift_low=rate_low,
        purchase_rate_lift_high=rate_high,
        treated_revenue_per_head=mean_t,
        control_revenue_per_head=mean_c,
        revenue_per_head_lift=mean_t - mean_c,
        revenue_per_head_lift_low=revenue_low,
        revenue_per_head_lift_high=revenue_high,
        incremental_buyers=(p_t - p_c) * treated.size,
        incremental_revenue=(mean_t - mean_c) * treated.size,
    )


def group_stats(outcomes: pd.DataFrame) -> GroupStats:
    revenue = outcomes["revenue"].astype(float)
    return GroupStats(
        size=len(outcomes),
        buyers=int(outcomes["purchased"].sum()),
        revenue=float(revenue.sum()),
        revenue_squares=float((revenue * revenue).sum()),
    )


def campaign_lift(outcomes: pd.DataFrame) -> Lift | None:
    """`outcomes`: one row per campaign member with `is_control`, `revenue` (in the window, 0 if
    none) and `purchased`. None when either group is empty (no lift can be measured)."""
    is_control = outcomes["is_control"].astype(bool)
    return lift_from_stats(group_stats(outcomes[~is_control]), group_stats(outcomes[is_control]))
