"""The landing sensor: start a day's run as soon as all of that day's expected folders are in.

An alternative to the fixed-time schedule for sources that deliver at varying hours. Days run in
order: the sensor waits at the first day that is not complete, and its tick says what is missing
(shown in the Dagster UI under Automation). A day whose ingest already ran (by the schedule, a
backfill or `loyalty run`) is not started again.
"""

from __future__ import annotations

import time
from datetime import date

import dagster as dg

from dagster_project.config import Settings
from dagster_project.lib.arrivals import day_arrival, days_delivered

# A file that changed in the last minute may still be being copied in.
SETTLE_SECONDS = 60


def _ingested_days(instance: dg.DagsterInstance, sources: list[str]) -> set[str]:
    """Days (partition keys) every expected source's raw asset was loaded for."""
    loaded = [instance.get_materialized_partitions(dg.AssetKey(["raw", s])) for s in sources]
    return set.intersection(*loaded) if loaded else set()


def landing_sensor(settings: Settings, job: dg.UnresolvedAssetJobDefinition) -> dg.SensorDefinition:
    expected = settings.landing_sensor.expect

    @dg.sensor(
        name="landing_arrivals",
        job=job,
        minimum_interval_seconds=settings.landing_sensor.interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING
            if settings.landing_sensor.enabled
            else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            "Starts a day's run when every expected landing folder of that day has arrived "
            f"({', '.join(expected)}); otherwise says what is missing."
        ),
    )
    def _landing_arrivals(context: dg.SensorEvaluationContext):
        after = date.fromisoformat(context.cursor) if context.cursor else None
        done = _ingested_days(context.instance, expected)
        requests, last_requested, waiting = [], after, None
        for day in days_delivered(settings, expected, after):
            if day.isoformat() in done:
                last_requested = day
                continue
            arrival = day_arrival(settings, expected, day, time.time(), SETTLE_SECONDS)
            if not arrival.ready:
                waiting = arrival
                break
            requests.append(dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat()))
            last_requested = day
        cursor = last_requested.isoformat() if last_requested else None
        if requests:
            return dg.SensorResult(run_requests=requests, cursor=cursor)
        reason = waiting.explain() if waiting else "no new day has been delivered"
        return dg.SensorResult(skip_reason=dg.SkipReason(reason), cursor=cursor)

    return _landing_arrivals
