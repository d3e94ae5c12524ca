"""Campaign results: each export day's treated group against its control group, once the
measurement window after it has passed.

On day D every wave whose measurement window (`window_days` after its export day) is open on D,
or closes on D, is measured: per group, its members' purchases placed after the export day and
by D (non-prescription value, net of the returns made by D), summed in SQL to sufficient
statistics; the lift and its intervals come from `lift.py`. One row per campaign and export day
as of D: `is_complete` once the window has closed (the wave's final result, the row of the day it
closes), a result so far before; a backfill of D computes the same rows again.
"""

from __future__ import annotations

from datetime import date, timedelta

import duckdb

from dagster_project.lib.exports.lift import GroupStats, Lift, lift_from_stats

WAVE_STATS_SQL = """
with

wave as (
    select customer_key, is_control
    from analytics.campaign_members
    where campaign = $campaign and as_of_date = $export_date
),

-- Each order's non-prescription value net of the returns made by the window's end: a return
-- made later is not known on that day (a backfill of the day must see what the day saw).
orders as (
    select
        customer_key,
        transaction_id,
        cast(min(ordered_at) as date) as order_date,
        sum(case when not is_prescription then line_amount end) as revenue
    from marts.fct_transaction_lines
    where customer_key in (select customer_key from wave)
        and event_date <= $window_end
    group by customer_key, transaction_id
),

purchases as (
    select
        customer_key,
        sum(revenue) as revenue,
        count(*) filter (where revenue > 0) as orders
    from orders
    where order_date > $export_date and order_date <= $window_end
    group by customer_key
)

select
    wave.is_control,
    count(*) as size,
    count(*) filter (where purchases.orders > 0) as buyers,
    coalesce(sum(purchases.revenue), 0) as revenue,
    coalesce(sum(purchases.revenue * purchases.revenue), 0) as revenue_squares
from wave
left join purchases using (customer_key)
group by wave.is_control
"""


def wave_lift(
    con: duckdb.DuckDBPyConnection, campaign: str, export_date: date, window_end: date
) -> Lift | None:
    """The lift of one export day's treated group over its control group up to `window_end`."""
    stats = {
        is_control: GroupStats(int(size), int(buyers), float(revenue), float(squares))
        for is_control, size, buyers, revenue, squares in con.execute(
            WAVE_STATS_SQL,
            {"campaign": campaign, "export_date": export_date, "window_end": window_end},
        ).fetchall()
    }
    empty = GroupStats(0, 0, 0.0, 0.0)
    return lift_from_stats(stats.get(False, empty), stats.get(True, empty))


def results_for_day(
    con: duckdb.DuckDBPyConnection, campaigns: list[str], as_of: date, window_days: int
) -> list[dict]:
    """The result rows as of `as_of`: each wave of each campaign whose window is open on that
    day (measured so far, `is_complete` false) or closes on it (`is_complete` true)."""
    first_export = as_of - timedelta(days=window_days)
    rows = []
    for campaign in campaigns:
        export_days = [
            day
            for (day,) in con.execute(
                "select distinct as_of_date from analytics.campaign_members "
                "where campaign = $campaign and as_of_date >= $first and as_of_date < $as_of "
                "order by as_of_date",
                {"campaign": campaign, "first": first_export, "as_of": as_of},
            ).fetchall()
        ]
        for export_date in export_days:
            lift = wave_lift(con, campaign, export_date, as_of)
            if lift is None:
                continue
            rows.append(
                {
                    "as_of_date": as_of,
                    "campaign": campaign,
                    "export_date": export_date,
                    "window_end_date": as_of,
                    "is_complete": export_date == first_export,
                    **lift.as_dict(),
                }
            )
    return rows
