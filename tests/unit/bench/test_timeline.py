"""The benchmark's timeline read from a real Dagster event log: steps, and when each reported."""

from __future__ import annotations

import time

import dagster as dg

from dagster_project.bench.timeline import dbt_startup, run_steps

WARM_UP = 0.4


# Named like the pipeline's dbt steps, so the timeline puts them in the dbt stage.
@dg.multi_asset(specs=[dg.AssetSpec("first_model"), dg.AssetSpec("second_model")])
def dbt_models():
    time.sleep(WARM_UP)  # what a dbt build spends before its first model is done
    yield dg.MaterializeResult(asset_key="first_model")
    time.sleep(WARM_UP / 2)
    yield dg.MaterializeResult(asset_key="second_model")


@dg.asset
def raw__pos_tickets() -> None:
    """An ingest step: not a dbt build."""


def test_steps_know_when_they_reported_their_first_result():
    with dg.DagsterInstance.ephemeral() as instance:
        run = dg.materialize([dbt_models, raw__pos_tickets], instance=instance)
        steps = {step.key: step for step in run_steps(instance, run.run_id)}
    dbt = steps["dbt_models"]
    assert dbt.first_result is not None
    assert WARM_UP <= dbt.seconds_to_first_result < dbt.seconds
    assert dbt.seconds >= 1.5 * WARM_UP
    # Only the dbt steps count as dbt builds.
    builds = dbt_startup(list(steps.values()))
    assert builds["builds"] == 1
    assert builds["to_first_result"] == round(dbt.seconds_to_first_result, 3)
    assert builds["seconds"] == round(dbt.seconds, 3)
