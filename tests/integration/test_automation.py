"""The landing sensor, the schedule beside it, and the freshness policy on the marts."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from dagster_project.config import ConfigError, settings_from_dict
from dagster_project.definitions import PIPELINE_JOB, build_definitions

FOLDERS = {
    "pos_tickets": "pos/tickets",
    "pos_members": "pos/members",
    "shopify_orders": "ecommerce/orders",
}
AN_HOUR_AGO = time.time() - 3600


def deliver(landing: Path, source: str, day: str, *, settled: bool = True) -> Path:
    folder = landing / FOLDERS[source] / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "part-000.csv"
    path.write_text("header\n", encoding="utf-8")
    if settled:
        os.utime(path, (AN_HOUR_AGO, AN_HOUR_AGO))
    return path


@pytest.fixture
def project(tmp_path: Path):
    settings = settings_from_dict(
        {
            "start_date": "2025-03-01",
            "landing_dir": str(tmp_path / "landing"),
            "warehouse": {"path": str(tmp_path / "warehouse.duckdb")},
            "landing_sensor": {"enabled": True},
        }
    )
    defs = build_definitions(settings)
    with dg.instance_for_test() as instance:
        yield tmp_path / "landing", defs, instance


def tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    sensor = defs.resolve_sensor_def("landing_arrivals")
    return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))


def test_a_day_runs_only_when_every_expected_folder_has_arrived(project):
    landing, defs, instance = project
    for source in FOLDERS:
        deliver(landing, source, "2025-03-01")
    deliver(landing, "pos_tickets", "2025-03-02")
    deliver(landing, "shopify_orders", "2025-03-02")

    first = tick(defs, instance, None)
    assert [r.partition_key for r in first.run_requests] == ["2025-03-01"]
    assert first.run_requests[0].run_key == "2025-03-01"
    assert first.cursor == "2025-03-01"

    waiting = tick(defs, instance, first.cursor)
    assert waiting.run_requests == []
    assert waiting.skip_reason.skip_message == "2025-03-02: waits for pos_members"
    assert waiting.cursor == "2025-03-01"

    deliver(landing, "pos_members", "2025-03-02")
    second = tick(defs, instance, waiting.cursor)
    assert [r.partition_key for r in second.run_requests] == ["2025-03-02"]
    assert tick(defs, instance, second.cursor).skip_reason.skip_message == (
        "no new day has been delivered"
    )


def test_a_file_still_being_written_holds_the_day_back(project):
    landing, defs, instance = project
    deliver(landing, "pos_tickets", "2025-03-01")
    deliver(landing, "pos_members", "2025-03-01")
    deliver(landing, "shopify_orders", "2025-03-01", settled=False)
    result = tick(defs, instance, None)
    assert result.run_requests == []
    assert "files still changing in shopify_orders" in result.skip_reason.skip_message


def test_days_wait_in_order_and_a_day_already_loaded_is_not_started_again(project):
    landing, defs, instance = project
    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        for source in FOLDERS:
            deliver(landing, source, day)
    # 2025-03-01 was loaded by hand (`loyalty run`) before the sensor was switched on.
    for source in FOLDERS:
        instance.report_runless_asset_event(
            dg.AssetMaterialization(asset_key=["raw", source], partition="2025-03-01")
        )
    (landing / "pos/members/date=2025-03-02/part-000.csv").unlink()
    result = tick(defs, instance, None)
    assert result.run_requests == []
    assert result.skip_reason.skip_message == "2025-03-02: waits for pos_members"
    assert result.cursor == "2025-03-01"


def test_the_sensor_starts_the_daily_job_and_the_schedule_steps_aside(project, tmp_path: Path):
    _, defs, _ = project
    sensor = defs.resolve_sensor_def("landing_arrivals")
    assert sensor.job_name == PIPELINE_JOB
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    schedule = defs.resolve_schedule_def("daily_run")
    assert schedule.default_status == dg.DefaultScheduleStatus.STOPPED
    plain = build_definitions(
        settings_from_dict({"landing_dir": "/nonexistent"}, tmp_path / "loyalty.yml")
    )
    assert plain.resolve_sensor_def("landing_arrivals").default_status == (
        dg.DefaultSensorStatus.STOPPED
    )
    assert plain.resolve_schedule_def("daily_run").default_status == (
        dg.DefaultScheduleStatus.RUNNING
    )


def test_every_mart_and_only_the_marts_carry_the_configured_freshness_policy():
    settings = settings_from_dict(
        {
            "landing_dir": "/nonexistent",
            "freshness": {"warn_after_hours": 30, "fail_after_hours": 50},
        }
    )
    specs = build_definitions(settings).resolve_all_asset_specs()
    marts = {s.key.to_user_string(): s.freshness_policy for s in specs if s.group_name == "marts"}
    assert "marts/fct_transactions" in marts and "marts/dim_customers" in marts
    for policy in marts.values():
        assert policy.fail_window.to_timedelta().total_seconds() == 50 * 3600
        assert policy.warn_window.to_timedelta().total_seconds() == 30 * 3600
    assert not [s.key for s in specs if s.group_name != "marts" and s.freshness_policy]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"landing_sensor": {"expect": ["pos_tix"]}},
            "landing_sensor.expect: unknown source 'pos_tix'",
        ),
        ({"landing_sensor": {"expect": []}}, "landing_sensor.expect: name at least one source"),
        ({"freshness": {"warn_after_hours": 40}}, "freshness: warn_after_hours must be less"),
    ],
)
def test_automation_settings_are_checked_naming_the_key(section, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_dict(section)
