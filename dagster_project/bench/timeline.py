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
    ("exports", lambda key: "export" in key or "campaign" in key),
    ("publish", lambda key: "publish" in key),
    ("report", lambda key: "report" in key),
    ("dbt", lambda key: True),
)
CLV_PARTS = ("holdout", "fit", "score")


def stage_of(step_key: str) -> str:
    return next(stage for stage, matches in STAGE_OF_STEP if matches(step_key))


@dataclass(frozen=True)
class Step:
    run_id: str
    key: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


def run_steps(instance: dg.DagsterInstance, run_id: str) -> list[Step]:
    """Each finished step of a run with its wall-clock window (epoch seconds)."""
    started: dict[str, float] = {}
    steps = []
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or event.step_key is None:
            continue
        if event.event_type_value == "STEP_START":
            started[event.step_key] = entry.timestamp
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            begin = started.pop(event.step_key, entry.timestamp)
            steps.append(Step(run_id, event.step_key, begin, entry.timestamp))
    return steps


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
