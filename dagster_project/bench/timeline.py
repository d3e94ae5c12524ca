"""Where a `loyalty run` spent its time, read back from the Dagster event log.

Every step's start and end are in the log, so the benchmark times the pipeline exactly as it
runs in production, not a copy of it. A step is put in a stage by its name; the CLV step's own
metadata splits it into holdout check, fit and scoring.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import dagster as dg

# Stages in pipeline order; a step goes to the first whose test matches its key.
STAGE_OF_STEP: tuple[tuple[str, Any], ...] = (
    ("checks", lambda key: "check" in key or key.endswith("_suite") or "volume" in key),
    ("ingest", lambda key: key.startswith("raw")),
    ("clv", lambda key: "customer_clv" in key),
    # The marketing loop's Python steps: segment files, campaign results, plan progress.
    ("exports", lambda key: "export" in key or "campaign" in key or "plan" in key),
    ("publish", lambda key: "publish" in key),
    ("report", lambda key: "report" in key),
    ("dbt", lambda key: True),
)
CLV_PARTS = ("holdout", "fit", "score")


def stage_of(step_key: str) -> str:
    return next(stage for stage, matches in STAGE_OF_STEP if matches(step_key))


# What a step reports as it goes: a dbt step one per model built or test run, streamed from dbt.
RESULT_EVENTS = ("ASSET_MATERIALIZATION", "ASSET_CHECK_EVALUATION", "ASSET_OBSERVATION")


@dataclass(frozen=True)
class Step:
    run_id: str
    key: str
    start: float
    end: float
    # When the step reported its first result (None: it reported none).
    first_result: float | None = None

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def seconds_to_first_result(self) -> float:
        return (self.first_result or self.end) - self.start


def run_steps(instance: dg.DagsterInstance, run_id: str) -> list[Step]:
    """Each finished step of a run with its wall-clock window (epoch seconds)."""
    started: dict[str, float] = {}
    first_result: dict[str, float] = {}
    steps = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        kind, key = event.event_type_value, event.step_key
        if kind == "STEP_START":
            started[key] = entry.timestamp
        elif kind in RESULT_EVENTS:
            first_result.setdefault(key, entry.timestamp)
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            begin = started.pop(key, entry.timestamp)
            steps.append(Step(run_id, key, begin, entry.timestamp, first_result.pop(key, None)))
    return steps


def dbt_startup(steps: list[Step]) -> dict[str, float]:
    """The dbt builds among `steps` (the steps of defs/transform/dbt_assets.py, all named dbt_*):
    how many, their seconds, and the seconds until each reported its first result (starting dbt,
    reading the manifest, opening the warehouse: the fixed cost a build pays whatever the data)."""
    builds = [step for step in steps if step.key.startswith("dbt_")]
    return {
        "builds": len(builds),
        "seconds": round(sum(step.seconds for step in builds), 3),
        "to_first_result": round(sum(step.seconds_to_first_result for step in builds), 3),
    }


# dagster-dbt puts dbt's own timing of each node (a model built, a test run) on the event it
# reports it with.
NODE_SECONDS = "Execution Duration"
SLOWEST_NODES = 8


def dbt_nodes(instance: dg.DagsterInstance, run_ids: list[str]) -> dict[str, Any]:
    """Where the dbt builds of `run_ids` spent their time, node by node, as dbt timed them: the
    seconds of all models and of all tests, and the slowest nodes (`analytics/customer_rfm`, a
    test as `model:test_name`). What a build spends beyond its nodes is starting dbt and
    reading the manifest (`dbt_startup`)."""
    seconds: dict[str, float] = {}
    totals = {"models": 0.0, "tests": 0.0}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or not (event.step_key or "").startswith("dbt_"):
                continue
            if event.event_type_value == "ASSET_MATERIALIZATION":
                materialization = event.event_specific_data.materialization
                name, kind = "/".join(materialization.asset_key.path), "models"
                metadata = materialization.metadata
            elif event.event_type_value == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                name = f"{'/'.join(evaluation.asset_key.path)}:{evaluation.check_name}"
                kind, metadata = "tests", evaluation.metadata
            else:
                continue
            if NODE_SECONDS not in metadata:
                continue
            value = float(metadata[NODE_SECONDS].value)
            seconds[name] = seconds.get(name, 0.0) + value
            totals[kind] += value
    slowest = sorted(seconds.items(), key=lambda item: item[1], reverse=True)[:SLOWEST_NODES]
    return {
        **{kind: round(value, 3) for kind, value in totals.items()},
        "slowest": [{"node": name, "seconds": round(value, 3)} for name, value in slowest],
    }


def run_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    """A run's first and last event: its whole time, Dagster's own work between steps included."""
    stamps = [entry.timestamp for entry in instance.all_logs(run_id)]
    return min(stamps), max(stamps)


def materialization_metadata(instance: dg.DagsterInstance, run_id: str) -> dict[str, dict]:
    """The metadata of each asset materialised in a run, by asset path (`analytics/customer_clv`)."""
    found: dict[str, dict] = {}
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = entry.asset_materialization
        if materialization is None:
            continue
        key = "/".join(materialization.asset_key.path)
        found[key] = {name: value.value for name, value in materialization.metadata.items()}
    return found


def clv_parts(metadata: dict[str, dict]) -> dict[str, float]:
    """The CLV step split into holdout check, fit (purchase + spend model) and scoring."""
    clv = metadata.get("analytics/customer_clv", {})
    return {part: float(clv[f"seconds_{part}"]) for part in CLV_PARTS if f"seconds_{part}" in clv}
