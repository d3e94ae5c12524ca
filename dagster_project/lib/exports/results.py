"""Campaign results: each export day's treated group against its control group, once the
measurement window after it has passed.

On day D every wave that D measures (`waves.py`: its window is open on D or closes on D, or it
closed unmeasured since the last day computed) is measured: per group, its members' purchases
placed after the export day and by the day measured through (value without health lines, net of
the returns made by then), summed in SQL to sufficient statistics; the lift and its intervals
come from `lift.py`. One row per campaign and export day as of D: `is_complete` once the window
has closed (the wave's final result), a result so far before; a backfill of D computes the same
rows again. When the email tools reported on the wave (lib/exports/activity.py), the share of
the treated group the message reached, and the lift per member reached.
"""

from __future__ import annotations

from datetime import date

import duckdb

from dagster_project.lib.exports.activity import DELIVERY_CTES, next_export_date
from dagster_project.lib.exports.lift import GroupStats, Lift, lift_from_stats
from dagster_project.lib.exports.purchases import PURCHASES_CTES
from dagster_project.lib.exports.waves import waves_to_measure
from dagster_project.lib.tables import CAMPAIGN_RESULTS

WAVE_STATS_SQL = f"""
with

members as (
    select customer_key, is_control
    from analytics.campaign_members
    where campaign = $campaign and as_of_date = $after
),

{PURCHASES_CTES},

{DELIVERY_CTES}

select
    members.is_control,
    count(*) as size,
    count(*) filter (where purchases.orders > 0) as buyers,
    coalesce(sum(purchases.revenue), 0) as revenue,
    coalesce(sum(purchases.revenue * purchases.revenue), 0) as revenue_squares,
    coalesce(sum(purchases.margin), 0) as margin,
    coalesce(sum(purchases.margin * purchases.margin), 0) as margin_squares,
    count(*) filter (where purchases.orders > 0 and purchases.margin is null) as unknown_margins,
    count(*) filter (where delivery.was_delivered) as delivered,
    bool_or(delivery.was_delivered is not null) as reported
from members
left join purchases using (customer_key)
left join delivery using (customer_key)
group by members.is_control
"""


def wave_lift(
    con: duckdb.DuckDBPyConnection, campaign: str, export_date: date, window_end: date
) -> dict | None:
    """The lift of one export day's treated group over its control group up to `window_end`,
    in revenue and, when every purchase in the window has one, in gross margin (else null)."""
    rows = con.execute(
        WAVE_STATS_SQL,
        {
            "campaign": campaign,
            "after": export_date,
            "through": window_end,
            "next_export": next_export_date(con, campaign, export_date),
            "coupons": [],
        },
    ).fetchall()
    empty = GroupStats(0, 0, 0.0, 0.0)
    revenue = {
        row[0]: GroupStats(int(row[1]), int(row[2]), float(row[3]), float(row[4])) for row in rows
    }
    lift = lift_from_stats(revenue.get(False, empty), revenue.get(True, empty))
    if lift is None:
        return None
    margin_lift = None
    if all(row[7] == 0 for row in rows):
        # The same interval on the margin per head: GroupStats' revenue is the margin here.
        margin = {
            row[0]: GroupStats(int(row[1]), int(row[2]), float(row[5]), float(row[6]))
            for row in rows
        }
        margin_lift = lift_from_stats(margin[False], margin[True])
    in_margin = {
        "treated_margin_per_head": "treated_revenue_per_head",
        "control_margin_per_head": "control_revenue_per_head",
        "margin_per_head_lift": "revenue_per_head_lift",
        "margin_per_head_lift_low": "revenue_per_head_lift_low",
        "margin_per_head_lift_high": "revenue_per_head_lift_high",
        "incremental_margin": "incremental_revenue",
    }
    return {
        **lift.as_dict(),
        **{
            ours: None if margin_lift is None else getattr(margin_lift, theirs)
            for ours, theirs in in_margin.items()
        },
        **per_delivered(lift, next(row for row in rows if not row[0])),
    }


def per_delivered(lift: Lift, treated_row: tuple) -> dict:
    """How many treated members the message reached, when the tools reported on the wave, and
    the lift per member reached: the lift of being in the file divided by the share it reached
    (Bloom's estimator; the control group was sent nothing, so all of the lift comes through
    those reached). The interval is the lift's divided by the same share."""
    delivered, reported = treated_row[8], treated_row[9]
    if not reported:
        return dict.fromkeys(PER_DELIVERED_COLUMNS)
    share = delivered / lift.treated
    scaled = {
        "purchase_rate_lift_per_delivered": lift.purchase_rate_lift,
        "revenue_per_head_lift_per_delivered": lift.revenue_per_head_lift,
    }
    return {
        "treated_delivered": delivered,
        "delivered_share": share,
        **{name: value / share if share > 0 else None for name, value in scaled.items()},
    }


PER_DELIVERED_COLUMNS = (
    "treated_delivered",
    "delivered_share",
    "purchase_rate_lift_per_delivered",
    "revenue_per_head_lift_per_delivered",
)


def results_for_day(
    con: duckdb.DuckDBPyConnection, campaigns: list[str], as_of: date, window_days: int
) -> list[dict]:
    """The result rows as of `as_of`: each wave D measures (`waves.py`), so far
    (`is_complete` false) or final."""
    rows = []
    for campaign in campaigns:
        for wave in waves_to_measure(con, campaign, as_of, window_days, CAMPAIGN_RESULTS):
            lift = wave_lift(con, campaign, wave.export_date, wave.measured_through)
            if lift is None:
                continue
            rows.append(
                {
                    "as_of_date": as_of,
                    "campaign": campaign,
                    "export_date": wave.export_date,
                    "window_end_date": wave.measured_through,
                    "is_complete": wave.is_complete,
                    **lift,
                }
            )
    return rows
