"""Each customer's response to each campaign wave: did they buy in the window after the export,
when first, how much, and did they use the coupon of a plan that targets the segment.

A wave is one export day of one segment (`analytics.campaign_members`, treated and control
alike). Its rows are measured on each day D that measures it (`waves.py`: its window is open on
D or closes on D, or it closed unmeasured since the last day computed) and replaced each time,
so the table holds one row per customer and wave: the latest measurement, final
(`is_complete`) once the window has closed. A backfill of an
earlier day leaves a wave measured later as it is. Purchases are the same as the campaign
results' (lib/exports/purchases.py).

What the email tools reported says whether a member was sent the message, received it, opened
it, clicked (lib/exports/activity.py); null when they reported nothing on the wave.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.exports.activity import DELIVERY_CTES, next_export_date
from dagster_project.lib.exports.purchases import PURCHASES_CTES
from dagster_project.lib.exports.waves import waves_to_measure
from dagster_project.lib.tables import CUSTOMER_CAMPAIGN_RESPONSES
from dagster_project.lib.warehouse import replace_rows

RESPONSES_SQL = f"""
with

members as (
    select customer_key, is_control
    from analytics.campaign_members
    where campaign = $campaign and as_of_date = $after
),

{PURCHASES_CTES},

{DELIVERY_CTES}

select
    members.customer_key,
    members.is_control,
    coalesce(purchases.orders, 0) > 0 as has_responded,
    purchases.first_purchase_date,
    date_diff('day', $after, purchases.first_purchase_date) as days_to_respond,
    coalesce(purchases.orders, 0) as orders,
    coalesce(purchases.revenue, 0) as revenue,
    case when coalesce(purchases.orders, 0) = 0 then 0 else purchases.margin end as margin,
    case when len($coupons) > 0 then coalesce(purchases.used_coupon, false) end as used_coupon,
    delivery.was_sent,
    delivery.was_delivered,
    delivery.has_opened,
    delivery.has_clicked,
    delivery.has_bounced
from members
left join purchases using (customer_key)
left join delivery using (customer_key)
"""


def wave_responses(
    con: duckdb.DuckDBPyConnection,
    campaign: str,
    export_date: date,
    window_end: date,
    coupons: list[str],
) -> pd.DataFrame:
    """One row per member of the wave: their response up to `window_end`."""
    return con.execute(
        RESPONSES_SQL,
        {
            "campaign": campaign,
            "after": export_date,
            "through": window_end,
            "next_export": next_export_date(con, campaign, export_date),
            "coupons": [code.upper() for code in coupons],
        },
    ).df()


def record_responses(
    con: duckdb.DuckDBPyConnection,
    coupons_by_campaign: dict[str, list[str]],
    as_of: date,
    window_days: int,
) -> int:
    """Measure every wave `as_of` measures (`waves.py`) and replace its rows of
    analytics.customer_campaign_responses; the rows written."""
    written = 0
    for campaign, coupons in coupons_by_campaign.items():
        waves = waves_to_measure(con, campaign, as_of, window_days, CUSTOMER_CAMPAIGN_RESPONSES)
        for wave in waves:
            export_date = wave.export_date
            (measured_later,) = con.execute(
                f"select count(*) from {CUSTOMER_CAMPAIGN_RESPONSES.qualified} "
                "where campaign = $campaign and export_date = $export_date and as_of_date > $as_of",
                {"campaign": campaign, "export_date": export_date, "as_of": as_of},
            ).fetchall()[0]
            if measured_later:
                continue
            rows = wave_responses(con, campaign, export_date, wave.measured_through, coupons)
            rows = rows.assign(
                as_of_date=as_of,
                campaign=campaign,
                export_date=export_date,
                window_end_date=wave.window_end,
                is_complete=wave.is_complete,
            )
            replace_rows(
                con,
                CUSTOMER_CAMPAIGN_RESPONSES,
                rows,
                {"campaign": campaign, "export_date": export_date},
            )
            written += len(rows)
    return written
