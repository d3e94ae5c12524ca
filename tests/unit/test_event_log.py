"""The local event log (lib/event_log.py) records what Dagster's own SQLite storage records.

A run goes through a Dagster home as `loyalty` makes one, and the files it leaves are read back
with Dagster's upstream storage classes, as the UI or a second process would read them.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from dagster_project.lib.environment import prepare_dagster_home
from dagster_project.lib.event_log import LocalEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2025-01-01", end_date="2025-01-31")


@dg.asset(partitions_def=DAYS, backfill_policy=dg.BackfillPolicy.single_run())
def daily_rows(context) -> dg.MaterializeResult:  # no context type: these are string annotations
    context.log.info(f"loading {len(context.partition_keys)} days")
    return dg.MaterializeResult(metadata={"days": len(context.partition_keys)})


@dg.asset_check(asset=daily_rows)
def rows_arrived() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


JOB = dg.define_asset_job("load", selection=[daily_rows])
DEFS = dg.Definitions(assets=[daily_rows], asset_checks=[rows_arrived], jobs=[JOB])


def run_range(home: Path) -> str:
    """Materialize every day of January in one run, through the instance at `home`."""
    os.environ["DAGSTER_HOME"] = str(home)
    with dg.DagsterInstance.get() as instance:
        result = DEFS.resolve_job_def("load").execute_in_process(
            instance=instance,
            tags={
                "dagster/asset_partition_range_start": "2025-01-01",
                "dagster/asset_partition_range_end": "2025-01-30",
            },
        )
        assert result.success
        return result.run_id


def recorded(home: Path, run_id: str) -> list[tuple]:
    """What the run's events say, read from the files with Dagster's own SQLite storage."""
    storage = SqliteEventLogStorage(str(home / "history" / "runs"))
    events = storage.get_logs_for_run(run_id)
    return sorted(
        (
            entry.dagster_event_type.value if entry.dagster_event_type else "log",
            entry.step_key or "",
            entry.dagster_event.partition or "" if entry.dagster_event else "",
            entry.user_message if not entry.dagster_event else "",
        )
        for entry in events
    )


@pytest.fixture
def restore_home():
    previous = os.environ["DAGSTER_HOME"]
    yield
    os.environ["DAGSTER_HOME"] = previous


def test_a_new_home_records_what_dagsters_own_storage_records(tmp_path: Path, restore_home):
    ours = prepare_dagster_home(tmp_path / "ours")
    upstream = tmp_path / "upstream"
    upstream.mkdir()
    (upstream / "dagster.yaml").write_text("telemetry:\n  enabled: false\n", encoding="utf-8")

    os.environ["DAGSTER_HOME"] = str(ours)
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.event_log_storage, LocalEventLogStorage)

    our_events = recorded(ours, run_range(ours))
    upstream_events = recorded(upstream, run_range(upstream))
    assert our_events == upstream_events
    materialized = [event for event in our_events if event[0] == "ASSET_MATERIALIZATION"]
    assert sorted(event[2] for event in materialized) == [
        f"2025-01-{day:02d}" for day in range(1, 31)
    ]


def test_another_process_sees_the_days_and_checks_of_a_run(tmp_path: Path, restore_home):
    home = prepare_dagster_home(tmp_path / "home")
    run_range(home)
    # A fresh instance on the same home (the UI, the next night's run) reads the index database.
    with dg.DagsterInstance.from_config(str(home)) as instance:
        partitions = instance.get_materialized_partitions(dg.AssetKey("daily_rows"))
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("daily_rows"), "rows_arrived")]
        )
    assert len(partitions) == 30
    assert next(iter(check.values())).status.value == "SUCCEEDED"
