"""Running the asset graph for a day or a range of days through Dagster, as `loyalty run` does.

The run goes through the Dagster instance at $DAGSTER_HOME, so it shows in the UI like a
scheduled run, and a range of days is a single run (single-run backfill policy).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

from dagster_project.config import Settings
from dagster_project.definitions import AS_OF_DAY, LOAD_DAYS, PIPELINE_JOB, build_definitions
from dagster_project.defs.engines import Engine, engine_for
from dagster_project.defs.progress import progress_logger
from dagster_project.deliveries import (
    NOTHING_DELIVERED,
    RunError,
    check_range,
    refuse_empty_range,
    silent_sources,
)
from dagster_project.lib.environment import apply_environment
from dagster_project.lib.erasure.landing import landing_files_naming_erased
from dagster_project.lib.warehouse import connect

# Before a run starts, Dagster records a "planned" event for every asset it will materialise, one
# per asset and day for a range of days: two years of history is about 8,000 events, each written
# on its own (about 12 ms on the local SQLite event log, 20 ms on PostgreSQL, measured here), so
# about 100 s before the first step. With this switch set, Dagster records one event per asset
# for the whole range instead. Its one cost, as Dagster's own comment on it says: the days of a
# range run that fails are not marked failed in the UI (the run is, and `loyalty run` says why).
# Only range runs (loading history) set it; a night's run keeps one event for its day.
ONE_PLANNED_EVENT_PER_RANGE = "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
PARTITION_TAG = "dagster/partition"


@dataclass
class RunOutcome:
    start: date
    end: date
    run_ids: list[str]
    tables: dict[str, int] = field(default_factory=dict)
    # One line per configured source that delivered no row in [start, end] (see silent_sources).
    silent_sources: list[str] = field(default_factory=list)


def _root_error(error):
    """The exception the step raised: Dagster wraps it in errors of its own (by class name, as
    Dagster's serialised error info gives it)."""
    while error is not None and error.cause is not None and error.cls_name.startswith("Dagster"):
        error = error.cause
    return error


def _failure_reason(result: dg.ExecuteInProcessResult, log_path: Path) -> str:
    """One line for the user, from Dagster's public events: a blocking check's description, a
    dg.Failure's description (the steps raise one for every failure they expect, dbt's
    included), else the first line of the error a step raised."""
    for evaluation in result.get_asset_check_evaluations():
        failed = not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
        if failed and evaluation.description:
            return f"check {evaluation.check_name} failed: {evaluation.description}"
    for event in result.all_events:
        if event.is_step_failure:
            failure = event.step_failure_data
            described = failure.user_failure_data and failure.user_failure_data.description
            if described:
                return f"step {event.step_key}: {described.splitlines()[0]}"
            error = _root_error(failure.error)
            message = (error.message if error else "").strip().split("\n")[0] or "failed"
            return f"step {event.step_key}: {message}"
    return f"the run failed (see the Dagster UI, or {log_path})"


def table_counts(
    settings: Settings, schemas: tuple[str, ...] = ("marts", "analytics", "pii")
) -> dict[str, int]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ? and table_type = 'BASE TABLE' order by 1",
            [list(schemas)],
        ).fetchall()
        return {n: con.execute(f"select count(*) from {n}").fetchone()[0] for (n,) in names}
    finally:
        con.close()


@dataclass(frozen=True)
class PlannedRun:
    """One run of the day's job: all of it for a partition, or a part of it (`selection`)."""

    tags: dict[str, str]
    selection: dg.AssetSelection | None = None

    @property
    def days(self) -> str:
        if PARTITION_TAG in self.tags:
            return self.tags[PARTITION_TAG]
        return f"{self.tags[RANGE_START_TAG]}..{self.tags[RANGE_END_TAG]}"


def day_runs(start: date, end: date, history: tuple[date, ...] = ()) -> list[PlannedRun]:
    """The runs that bring the warehouse to `end` as nightly runs would have: the day's job for
    each as-of day (the days of `history` within the range, then `end`), and before each, the
    landing files of the days since the previous one, loaded in one run of the ingest assets."""
    as_of_days = [*sorted({day for day in history if start <= day < end}), end]
    runs, first = [], start
    for day in as_of_days:
        if first < day:
            last = day - timedelta(days=1)
            tags = {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}
            runs.append(PlannedRun(tags, LOAD_DAYS))
        runs.append(PlannedRun({PARTITION_TAG: day.isoformat()}))
        first = day + timedelta(days=1)
    return runs


def ready_engine(settings: Settings) -> Engine:
    """The configured engine, if this machine can run it (else a RunError saying why)."""
    engine = engine_for(settings)
    if reason := engine.unavailable():
        raise RunError(f"warehouse.engine is {engine.name} in {settings.config_path}, but {reason}")
    return engine


@contextlib.contextmanager
def _planned_events(*, per_range: bool) -> Iterator[None]:
    """One planned event per asset for a range run (ONE_PLANNED_EVENT_PER_RANGE), one per asset
    and day otherwise; whatever the environment said is restored after the run."""
    before = os.environ.get(ONE_PLANNED_EVENT_PER_RANGE)
    os.environ[ONE_PLANNED_EVENT_PER_RANGE] = "true" if per_range else "false"
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ONE_PLANNED_EVENT_PER_RANGE)
        else:
            os.environ[ONE_PLANNED_EVENT_PER_RANGE] = before


def _execute(settings: Settings, runs: list[PlannedRun], *, show_progress: bool) -> list[str]:
    """Run the day's job (or a part of it) for each planned run, one after the other, through
    the Dagster instance; stop at the first failure."""
    engine = ready_engine(settings)
    apply_environment(settings)
    defs = build_definitions(settings)
    job = defs.resolve_job_def(PIPELINE_JOB).with_logger_defs({"progress": progress_logger})
    graph = defs.resolve_asset_graph()
    run_config = {"loggers": {"progress": {}}} if show_progress else {}
    # dbt's own log lines go to the run log file (and the Dagster UI), not the terminal.
    log_path = settings.dagster_home / "logs" / "last_run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    run_ids = []
    with (
        dg.DagsterInstance.get() as instance,
        log_path.open("w", encoding="utf-8") as log,
        contextlib.redirect_stdout(log),
    ):
        try:
            for planned in runs:
                keys = planned.selection.resolve(graph) if planned.selection else None
                with _planned_events(per_range=RANGE_START_TAG in planned.tags):
                    result = job.execute_in_process(
                        instance=instance,
                        tags=planned.tags,
                        asset_selection=sorted(keys) if keys else None,
                        run_config=run_config,
                        raise_on_error=False,
                    )
                run_ids.append(result.run_id)
                if not result.success:
                    log.flush()
                    raise RunError(_failure_reason(result, log_path))
        finally:
            engine.stop()
    return run_ids


def run_pipeline(
    settings: Settings,
    start: date,
    end: date,
    *,
    show_progress: bool = True,
    allow_empty: bool = False,
    history: tuple[date, ...] = (),
) -> RunOutcome:
    """Load the days [start, end] and compute the day `end` as the schedule would (the day's
    job); the days of `history` in the range are computed as their own nightly runs would have
    (so that the segment history and its transitions have past days to compare with)."""
    check_range(settings, start, end)
    ready_engine(settings)
    # A run on nothing is no success: refuse before building marts and analytics of nothing.
    if not allow_empty:
        refuse_empty_range(settings, start, end)
    run_ids = _execute(settings, day_runs(start, end, history), show_progress=show_progress)
    silent, delivered_any = silent_sources(settings, start, end)
    if not delivered_any and not allow_empty:
        raise RunError(NOTHING_DELIVERED, silent)
    return RunOutcome(
        start, end, run_ids, table_counts(settings), silent + _erased_in_landing(settings)
    )


def _erased_in_landing(settings: Settings) -> list[str]:
    """A note when delivered files still name erased people (counts only, never who)."""
    con = connect(settings.warehouse_path, read_only=True)
    try:
        files, people = landing_files_naming_erased(con, settings.landing_path)
    finally:
        con.close()
    if not files:
        return []
    return [
        f"{files} landing file(s) under {settings.landing_path} still hold rows of {people} "
        "erased id(s) (found by keyed id); the pipeline has removed them from everything it "
        "writes, purge them at the source (docs/operations.md)"
    ]


def history_days(start: date, end: date, every: str) -> list[date]:
    """The as-of days of a history: every day, every Sunday, or every month's last day."""
    days = [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]
    if every == "day":
        return days
    if every == "week":
        return [d for d in days if d.weekday() == 6]
    return [d for d in days if (d + timedelta(days=1)).day == 1]


def run_history(settings: Settings, days: list[date], *, show_progress: bool = True) -> RunOutcome:
    """Compute the analytics as of each of `days` from what is loaded (one Dagster run per day).

    Nothing is reloaded: each day sees only the purchases that existed by its end.
    """
    if not days:
        raise RunError("no as-of day in that range")
    check_range(settings, days[0], days[-1])
    runs = [PlannedRun({PARTITION_TAG: day.isoformat()}, AS_OF_DAY) for day in days]
    run_ids = _execute(settings, runs, show_progress=show_progress)
    return RunOutcome(days[0], days[-1], run_ids, table_counts(settings, ("analytics",)))
