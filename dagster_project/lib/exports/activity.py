"""What the email tools reported on a wave: was each member sent the message, did it arrive, did
they open it, click, did it bounce (marts.fct_campaign_activity, from marketing/campaign_activity).

An event belongs to the wave of its campaign exported last on or before its day, and counts while
that wave's window is open: a segment exported every week has its events split between its
waves. When the tools reported nothing on a wave, nothing is known beyond being in the file, and
the columns are null rather than false.

`DELIVERY_CTES` follows a CTE `members` (`customer_key` per row) and gives `delivery`: per member
`was_sent`, `was_delivered`, `has_opened`, `has_clicked`, `has_bounced`. Parameters: `$campaign`,
`$after` (the export day), `$through` (the day measured through), `$next_export` (the campaign's
next export day, or null).
"""

from __future__ import annotations

from datetime import date

import duckdb

DELIVERY_CTES = """
activity as (
    select
        customer_key,
        bool_or(event_type <> 'bounced') as sent,
        bool_or(event_type in ('delivered', 'opened', 'clicked')) as confirmed,
        bool_or(event_type = 'bounced') as bounced,
        bool_or(event_type in ('opened', 'clicked')) as opened,
        bool_or(event_type = 'clicked') as clicked
    from marts.fct_campaign_activity
    where campaign = $campaign
        and occurred_date >= $after and occurred_date <= $through
        and ($next_export is null or occurred_date < $next_export)
    group by customer_key
),

reported as (
    select count(*) > 0 as any_activity from activity
),

delivery as (
    -- Sent: any event says the tool tried (a bounce too). Delivered: the tool said so, or the
    -- message was opened, or it was sent and did not bounce, which is how a tool with no delivery
    -- event (Mailchimp) reports one.
    select
        members.customer_key,
        case when reported.any_activity then coalesce(activity.customer_key is not null, false) end
            as was_sent,
        case
            when reported.any_activity
                then coalesce(activity.confirmed or (activity.sent and not activity.bounced), false)
        end as was_delivered,
        case when reported.any_activity then coalesce(activity.opened, false) end as has_opened,
        case when reported.any_activity then coalesce(activity.clicked, false) end as has_clicked,
        case when reported.any_activity then coalesce(activity.bounced, false) end as has_bounced
    from members
    cross join reported
    left join activity using (customer_key)
)
"""


def next_export_date(
    con: duckdb.DuckDBPyConnection, campaign: str, export_date: date
) -> date | None:
    """The campaign's next export day after `export_date`: from then on its events belong to
    that wave."""
    (day,) = con.execute(
        "select min(as_of_date) from analytics.campaign_members "
        "where campaign = $campaign and as_of_date > $after",
        {"campaign": campaign, "after": export_date},
    ).fetchone()
    return day
