"""Campaign results: each export day's treated group against its control group, once the
measurement window after it has passed.

On day D every wave that D measures (`waves.py`: its window is open on D or closes on D, or it
closed unmeasured since the last day computed) is measured: per group, its members' purchases
placed after the export day and by the day measured through (value without health lines, net of
the returns made by then), summed in SQL to sufficient statistics; the lift and its intervals
come from `lift.py`. One row per campaign and export day as of D: `is_complete` once the window
has closed (the wave's final result), a result so far before; a backfill of D computes the same
rows again.
"""

from __future__ import annotations

from datetime import date

import duckdb

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

{PURCHASES_CTES}

select
    members.is_control,
    count(*) as size,
    count(*) filter (where purchases.orders > 0) as buyers,
    coalesce(sum(purchases.revenue), 0) as revenue,
    coalesce(sum(purchases.revenue * purchases.revenue), 0) as revenue_squares
from members
left join purchases using (customer_key)
group by members.is_control
"""


def wave_lift(
    con: duckdb.DuckDBPyConnection, campaign: str, export_date: date, window_end: date
) -> Lift | None:
    """The lift of one export day's treated group over its control group up to `window_end`."""
    stats = {
        is_control: GroupStats(int(size), int(buyers), float(revenue), float(squares))
        for is_control, size, buyers, revenue, squares in con.execute(
            WAVE_STATS_SQL,
            {"campaign": campaign, "after": export_date, "through": window_end, "coupons": []},
        ).fetchall()
    }
    empty = GroupStats(0, 0, 0.0, 0.0)
    return lift_from_stats(stats.get(False, empty), stats.get(True, empty))


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
                    **lift.as_dict(),
                }
            )
    return rows
