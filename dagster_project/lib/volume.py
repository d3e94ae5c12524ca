"""Volume and freshness anomalies of a source's deliveries: a day with nothing from a source that
always delivers, a day far below or above its usual size, a store that always sells but sent no
tickets.

"Usual" is the same weekday over the previous eight weeks (shops have weekly rhythms: a pharmacy
closed on Sundays must not raise a warning every Sunday), judged only with at least four such
weekdays of history and a usual size large enough that an empty day cannot be chance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import duckdb

WEEKS = 8
MIN_HISTORY = 4
# Below this usual size a quiet day is ordinary (erasure requests, new stores).
MIN_USUAL_ROWS = 20
LOW_SHARE, HIGH_SHARE = 0.2, 4.0


@dataclass(frozen=True)
class VolumeFinding:
    day: date
    message: str


_STATS = f"""
series as (
    select calendar.day, calendar.subject, coalesce(counts.rows, 0) as rows
    from calendar
    left join counts using (day, subject)
),

stats as (
    select
        day,
        subject,
        rows,
        count(*) over usual as history_days,
        count(*) filter (where rows > 0) over usual as delivered_days,
        avg(rows) over usual as usual_rows
    from series
    window usual as (
        partition by subject, dayofweek(day) order by day
        rows between {WEEKS} preceding and 1 preceding
    )
)

select day, subject, rows, delivered_days, history_days, usual_rows
from stats
where day between $first and $last
    and history_days >= {MIN_HISTORY}
    and usual_rows >= {MIN_USUAL_ROWS}
    and (
        (rows = 0 and delivered_days = history_days)
        or (rows > 0 and rows < {LOW_SHARE} * usual_rows)
        or rows > {HIGH_SHARE} * usual_rows
    )
order by day, subject
"""


def _describe(rows: int, delivered: int, history: int, usual: float, weekday: str) -> str:
    if rows == 0:
        return f"nothing, after {delivered} of the last {history} {weekday}s (usually {usual:.0f})"
    direction = "under a fifth of" if rows < usual else "over four times"
    return f"{rows:,} rows, {direction} the usual {usual:.0f} of the last {history} {weekday}s"


def source_volume_findings(
    con: duckdb.DuckDBPyConnection, source: str, first: date, last: date
) -> list[VolumeFinding]:
    """Days of [first, last] whose rows loaded for `source` (from ops.ingest_log) are anomalous."""
    rows = con.execute(
        f"""
        with

        counts as (
            select partition_date as day, $source as subject, sum(rows_loaded) as rows
            from ops.ingest_log
            where source = $source and partition_date between $first - {7 * WEEKS} and $last
            group by all
        ),

        -- Every day from the source's first delivery: a day with no file at all counts as 0.
        calendar as (
            select distinct
                cast(unnest(generate_series(min(day), $last, interval 1 day)) as date) as day,
                $source as subject
            from counts
        ),
        {_STATS}
        """,
        {"source": source, "first": first, "last": last},
    ).fetchall()
    return [
        VolumeFinding(
            day, f"{source} on {day}: " + _describe(n, got, of, usual, day.strftime("%A"))
        )
        for day, _, n, got, of, usual in rows
    ]


def store_volume_findings(
    con: duckdb.DuckDBPyConnection, first: date, last: date
) -> list[VolumeFinding]:
    """Days of [first, last] on which a store that always sells sent no (or very few) tickets."""
    rows = con.execute(
        f"""
        with

        counts as (
            select partition_date as day, store_id as subject, count(distinct ticket_id) as rows
            from raw.pos_tickets
            where partition_date between $first - {7 * WEEKS} and $last
            group by all
        ),

        -- Every day from each store's first sale in the window.
        calendar as (
            select
                subject,
                cast(unnest(generate_series(min(day), $last, interval 1 day)) as date) as day
            from counts
            group by subject
        ),
        {_STATS}
        """,
        {"first": first, "last": last},
    ).fetchall()
    findings = []
    for day, store, n, got, of, usual in rows:
        weekday = day.strftime("%A")
        text = _describe(n, got, of, usual, weekday).replace("rows", "tickets")
        findings.append(VolumeFinding(day, f"store {store} on {day}: {text}"))
    return findings
