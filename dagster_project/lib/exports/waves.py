"""Which campaign waves a day measures, and up to when.

A wave is one export day of one segment (`analytics.campaign_members`). On day D a wave is
measured when its window (`window_days` after the export day) is open on D or closes on D, up to
D; and, when its window closed after the last day that measured it and before D (days are not
always computed one after the other: the demo's month-ends, `loyalty history --every month`),
on D, once, up to the window's end: its final result is then the one the day it closed would
have given, returns made after that day included in neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import duckdb

from dagster_project.lib.tables import PythonTable


@dataclass(frozen=True)
class Wave:
    export_date: date
    window_end: date  # the export day + window_days
    measured_through: date  # D, or the window's end when it closed before D

    @property
    def is_complete(self) -> bool:
        return self.measured_through == self.window_end


def waves_to_measure(
    con: duckdb.DuckDBPyConnection,
    campaign: str,
    as_of: date,
    window_days: int,
    measured_in: PythonTable,
) -> list[Wave]:
    """The waves of `campaign` that D measures; `measured_in` is the table that records their
    measurements (its rows carry `campaign`, `export_date`, `is_complete`, `as_of_date`)."""
    window = timedelta(days=window_days)
    export_days = con.execute(
        f"""select distinct members.as_of_date
        from analytics.campaign_members as members
        where members.campaign = $campaign and members.as_of_date < $as_of
            and (
                members.as_of_date >= $first_open
                or not exists (
                    select 1 from {measured_in.qualified} as measured
                    where measured.campaign = $campaign
                        and measured.export_date = members.as_of_date
                        and measured.is_complete and measured.as_of_date < $as_of
                )
            )
        order by members.as_of_date""",
        {"campaign": campaign, "as_of": as_of, "first_open": as_of - window},
    ).fetchall()
    return [Wave(day, day + window, min(as_of, day + window)) for (day,) in export_days]
