"""Daily partitions: one partition per day of landing files, in the retailer's time zone."""

from __future__ import annotations

from datetime import date, timedelta

import dagster as dg

from dagster_project.config import Settings


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    # end_offset=1 makes today's partition available, so a day can be loaded as files arrive.
    return dg.DailyPartitionsDefinition(
        start_date=settings.start_date.isoformat(),
        timezone=settings.timezone,
        end_offset=1,
    )


# A range of days is one run: ingest reads each day's folder, dbt builds once.
SINGLE_RUN = dg.BackfillPolicy.single_run()


def partition_days(
    context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext,
) -> tuple[date, date]:
    """First and last day (inclusive) of the partitions this run materialises or checks."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
