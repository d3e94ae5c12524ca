"""Plan progress: each plan against its objective and, where it sends files, its control group.

On day D, for each plan of loyalty.yml (docs/marketing.md, "Following a plan"):
- the objective's metric, measured on the plan's people: `customers` those its rule selects on D;
  the others on its *baseline audience*, those it selected on the baseline day (`reactivated`:
  how many bought after the baseline day; `retained_share`: the share in stage new, active or
  reactivated on D; `revenue`, `orders`, `average_order_value`: their purchases from the period's
  start); a `kpi_daily.<column>` is the chain's KPI of D;
- where a straight line from the baseline value to the target by the due date says it should
  be on D, and whether the plan is on track (at or beyond the line, in the target's direction);
- for a plan that targets an export segment: the people contacted (treated members of the
  segment's waves exported in the period), the spend so far, and the incremental buyers and
  revenue against the control group (the waves' latest campaign results), with an interval,
  the cost per incremental customer and the return on the spend: on the incremental gross
  margin when every wave knows it (the catalogue's unit costs or the configured category
  margins), else on revenue, VAT included (`roi_measure` says which).

Purchases are counted as everywhere else (lib/exports/purchases.py). Metrics that need the
analytics of a day that was not computed are null, and the plan is then neither on nor off track.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import duckdb

from dagster_project.lib.exports.build import segment_members
from dagster_project.lib.exports.purchases import PURCHASES_CTES

ACTIVE_STAGES = ("new", "active", "reactivated")
Z_95 = 1.96

AUDIENCE_PURCHASES_SQL = f"""
with

members as (select unnest($keys) as customer_key),

{PURCHASES_CTES}

select
    count(*) filter (where orders > 0) as buyers,
    coalesce(sum(orders), 0) as orders,
    coalesce(sum(revenue), 0) as revenue
from purchases
"""


@dataclass(frozen=True)
class Target:
    """Whom a plan is for: the rule and the key its errors are named by, and the export segment
    it sends files to (None for a plan with a rule of its own)."""

    rule: Any
    key: str
    segment: str | None


def _has_analytics(con: duckdb.DuckDBPyConnection, day: date) -> bool:
    (rows,) = con.execute(
        "select count(*) from analytics.customer_segment_history where as_of_date = ?", [day]
    ).fetchall()[0]
    return rows > 0


def audience(con: duckdb.DuckDBPyConnection, target: Target, day: date) -> list[str] | None:
    """The customers the plan's rule selects on `day` (None when that day was not computed)."""
    if not _has_analytics(con, day):
        return None
    members = segment_members(con, target.key, target.rule, day, key=target.key)
    return sorted(members["customer_key"])


def _purchases(
    con: duckdb.DuckDBPyConnection, keys: list[str], after: date, through: date
) -> tuple[int, int, float]:
    buyers, orders, revenue = con.execute(
        AUDIENCE_PURCHASES_SQL, {"keys": keys, "after": after, "through": through, "coupons": []}
    ).fetchall()[0]
    return int(buyers), int(orders), float(revenue)


def _retained_share(con: duckdb.DuckDBPyConnection, keys: list[str], day: date) -> float | None:
    if not keys or not _has_analytics(con, day):
        return None
    (active,) = con.execute(
        "select count(*) from analytics.customer_lifecycle "
        "where as_of_date = $day and customer_key in (select unnest($keys)) "
        "and lifecycle_stage in (select unnest($stages))",
        {"day": day, "keys": keys, "stages": list(ACTIVE_STAGES)},
    ).fetchall()[0]
    return active / len(keys)


def metric_value(
    con: duckdb.DuckDBPyConnection,
    plan: Any,
    target: Target,
    day: date,
    audiences: dict[date, list[str] | None] | None = None,
) -> float | None:
    """The objective's metric on `day` (docs/marketing.md). `audiences` keeps the audiences
    already selected, by day, for the next call (a plan's row reads the baseline's twice)."""
    metric, baseline_day = plan.objective.metric, plan.objective.baseline_date
    audiences = {} if audiences is None else audiences

    def audience_on(when: date) -> list[str] | None:
        if when not in audiences:
            audiences[when] = audience(con, target, when)
        return audiences[when]

    if metric.startswith("kpi_daily."):
        column = metric.removeprefix("kpi_daily.")
        rows = con.execute(
            f'select "{column}" from analytics.kpi_daily where as_of_date = ?', [day]
        ).fetchall()
        return None if not rows or rows[0][0] is None else float(rows[0][0])
    if metric == "customers":
        people = audience_on(day)
        return None if people is None else float(len(people))
    baseline = audience_on(baseline_day)
    if baseline is None:
        return None
    if metric == "retained_share":
        return _retained_share(con, baseline, day)
    if metric == "reactivated":
        if day <= baseline_day:
            return 0.0
        return float(_purchases(con, baseline, baseline_day, day)[0])
    # revenue, orders, average_order_value: from the period's start.
    start = plan.period.start - timedelta(days=1)
    if day <= start:
        return 0.0 if metric != "average_order_value" else None
    _, orders, revenue = _purchases(con, baseline, start, day)
    if metric == "orders":
        return float(orders)
    if metric == "revenue":
        return revenue
    return revenue / orders if orders else None


def expected_value(baseline: float, target: float, start: date, due: date, day: date) -> float:
    """Where the straight line from the baseline value to the target says the metric should be."""
    elapsed = min(max((day - start).days / (due - start).days, 0.0), 1.0)
    return baseline + (target - baseline) * elapsed


def _campaign(
    con: duckdb.DuckDBPyConnection, plan: Any, segment: str, day: date
) -> dict[str, float | int | None]:
    """Contacts, spend and the lift of the segment's waves exported in the plan's period."""
    period_end = min(plan.period.end, day)
    (contacted,) = con.execute(
        "select count(distinct customer_key) from analytics.campaign_members "
        "where campaign = $segment and not is_control "
        "and as_of_date between $start and $end",
        {"segment": segment, "start": plan.period.start, "end": period_end},
    ).fetchall()[0]
    waves = con.execute(
        """select incremental_buyers, incremental_revenue, revenue_per_head_lift_low,
            revenue_per_head_lift_high, treated, incremental_margin
        from analytics.campaign_results
        where campaign = $segment and export_date between $start and $end and as_of_date <= $day
        qualify as_of_date = max(as_of_date) over (partition by export_date)""",
        {"segment": segment, "start": plan.period.start, "end": period_end, "day": day},
    ).fetchall()
    buyers = sum(float(w[0] or 0) for w in waves)
    revenue = sum(float(w[1] or 0) for w in waves)
    # The waves' intervals combined as independent normal errors (a wave's standard error of
    # the incremental revenue is its half-interval × its treated size / 1.96).
    error = math.sqrt(
        sum(((float(w[3]) - float(w[2])) / 2 / Z_95 * int(w[4])) ** 2 for w in waves if w[2])
    )
    # The margin only when every wave knows it: a part would pass for the whole.
    margin_known = bool(waves) and all(w[5] is not None for w in waves)
    return {
        "contacted": int(contacted),
        "incremental_margin": sum(float(w[5]) for w in waves) if margin_known else None,
        "incremental_buyers": buyers if waves else None,
        "incremental_revenue": revenue if waves else None,
        "incremental_revenue_low": revenue - Z_95 * error if waves else None,
        "incremental_revenue_high": revenue + Z_95 * error if waves else None,
    }


def spend_so_far(plan: Any, contacted: int | None, day: date) -> float:
    """The cost per contact times the people contacted (never past the total); with a total
    only, the total spread evenly over the period."""
    budget = plan.budget
    if budget.per_contact is not None and contacted is not None:
        spend = budget.per_contact * contacted
        return min(spend, budget.total) if budget.total is not None else spend
    if budget.total is None:
        return 0.0
    days = (plan.period.end - plan.period.start).days + 1
    elapsed = min(max((day - plan.period.start).days + 1, 0), days)
    return budget.total * elapsed / days


def plan_progress(
    con: duckdb.DuckDBPyConnection, name: str, plan: Any, target: Target, day: date
) -> dict[str, Any]:
    """The row of analytics.plan_progress of one plan on `day`."""
    objective = plan.objective
    audiences: dict[date, list[str] | None] = {}
    actual = metric_value(con, plan, target, day, audiences)
    cumulative = objective.metric in ("reactivated", "revenue", "orders")
    baseline = (
        0.0 if cumulative else metric_value(con, plan, target, objective.baseline_date, audiences)
    )
    expected = None
    on_track = None
    if baseline is not None:
        expected = expected_value(
            baseline, objective.target, objective.baseline_date, objective.due_date, day
        )
        if actual is not None:
            upward = objective.target >= baseline
            on_track = actual >= expected if upward else actual <= expected
    campaign = _campaign(con, plan, target.segment, day) if target.segment else {}
    contacted = campaign.get("contacted")
    spend = spend_so_far(plan, contacted, day)
    revenue, buyers = campaign.get("incremental_revenue"), campaign.get("incremental_buyers")
    margin = campaign.get("incremental_margin")
    # The return on what the business keeps when the margin is known, else on revenue.
    gain, measure = (margin, "margin") if margin is not None else (revenue, "revenue")
    return {
        "as_of_date": day,
        "plan": name,
        "segment": target.segment,
        "owner": plan.owner,
        "channel": plan.channel,
        "metric": objective.metric,
        "baseline_date": objective.baseline_date,
        "due_date": objective.due_date,
        "baseline_value": baseline,
        "target_value": objective.target,
        "expected_value": expected,
        "actual_value": actual,
        "gap": actual - expected if actual is not None and expected is not None else None,
        "is_on_track": on_track,
        "contacted": contacted,
        "spend": spend,
        "budget_total": plan.budget.total,
        "currency": plan.budget.currency,
        "incremental_buyers": buyers,
        "incremental_revenue": revenue,
        "incremental_revenue_low": campaign.get("incremental_revenue_low"),
        "incremental_revenue_high": campaign.get("incremental_revenue_high"),
        "incremental_margin": margin,
        "cost_per_incremental_customer": spend / buyers if buyers and buyers > 0 else None,
        "roi": (gain - spend) / spend if gain is not None and spend > 0 else None,
        "roi_measure": measure,
    }
