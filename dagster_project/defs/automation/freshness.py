"""The freshness policy on the marts: late after a missed night, stale after longer.

The marts are rebuilt by every day's run, so the time since their last materialisation is the
time since the last successful day. The Dagster daemon evaluates the policy (the instance needs
`freshness: {enabled: true}`, as deploy/dagster.yaml has) and the UI shows each mart as fresh,
warning or failing. The dbt translator attaches it to the models of the marts folder.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from dagster_project.config import Settings


def marts_freshness_policy(settings: Settings) -> dg.FreshnessPolicy:
    return dg.FreshnessPolicy.time_window(
        fail_window=timedelta(hours=settings.freshness.fail_after_hours),
        warn_window=timedelta(hours=settings.freshness.warn_after_hours),
    )
