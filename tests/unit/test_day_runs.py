"""`loyalty run` brings the warehouse to a day as nightly runs would have (pipeline.day_runs):
the day's job for each as-of day, and the landing files of the days between loaded in one run."""

from __future__ import annotations

from datetime import date

from dagster_project.definitions import LOAD_DAYS
from dagster_project.pipeline import PARTITION_TAG, day_runs

JAN_1, JAN_31 = date(2025, 1, 1), date(2025, 1, 31)


def test_a_single_day_is_the_day_the_schedule_starts():
    (run,) = day_runs(JAN_31, JAN_31)
    assert run.tags == {PARTITION_TAG: "2025-01-31"} and run.selection is None


def test_a_range_loads_the_earlier_days_in_one_run_then_runs_its_last_day():
    load, day = day_runs(JAN_1, JAN_31)
    assert (load.days, load.selection) == ("2025-01-01..2025-01-30", LOAD_DAYS)
    assert (day.days, day.selection) == ("2025-01-31", None)


def test_history_days_in_the_range_run_as_their_own_nights():
    runs = day_runs(JAN_1, JAN_31, (date(2025, 1, 15), date(2025, 1, 2), date(2024, 12, 1), JAN_31))
    assert [(run.days, run.selection is None) for run in runs] == [
        ("2025-01-01..2025-01-01", False),
        ("2025-01-02", True),
        ("2025-01-03..2025-01-14", False),
        ("2025-01-15", True),
        ("2025-01-16..2025-01-30", False),
        ("2025-01-31", True),
    ]
    # Every day of the range is loaded exactly once.
    loaded = []
    for run in runs:
        first, _, last = run.days.partition("..")
        span = range(
            date.fromisoformat(first).toordinal(), date.fromisoformat(last or first).toordinal() + 1
        )
        loaded += [date.fromordinal(d) for d in span]
    assert loaded == [date.fromordinal(d) for d in range(JAN_1.toordinal(), JAN_31.toordinal() + 1)]
