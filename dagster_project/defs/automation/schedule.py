"""The nightly schedule: load yesterday's files and rebuild everything downstream.

When the landing sensor is on it starts the days instead, and the schedule is off by default.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import dagster as dg

from dagster_project.config import Settings


def daily_schedule(settings: Settings, job: dg.JobDefinition | object) -> dg.ScheduleDefinition:
    status = (
        dg.DefaultScheduleStatus.RUNNING
        if settings.schedule.enabled and not settings.landing_sensor.enabled
        else dg.DefaultScheduleStatus.STOPPED
    )

    @dg.schedule(
        name="daily_run",
        cron_schedule=settings.schedule.cron,
        execution_timezone=settings.timezone,
        job=job,
        default_status=status,
        description="Loads the previous day's landing files and rebuilds marts, once a day.",
    )
    def _daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        now = context.scheduled_execution_time or datetime.now()
        day = (now - timedelta(days=1)).date().isoformat()
        return dg.RunRequest(run_key=day, partition_key=day)

    return _daily
