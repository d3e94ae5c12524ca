"""The benchmark's timeline read from a real Dagster event log: steps, and when each reported."""

from __future__ import annotations

import time

import dagster as dg

from dagster_project.bench.timeline import NODE_SECONDS, dbt_nodes, dbt_startup, run_steps

WARM_UP = 0.4


# Named like the pipeline's dbt steps, so the timeline puts them in the dbt stage.
@dg.multi_asset(
    specs=[dg.AssetSpec("first_model"), dg.AssetSpec("second_model")],
    check_specs=[dg.AssetCheckSpec("unique_id", asset="second_model")],
)
def dbt_models():
    time.sleep(WARM_UP)  # what a dbt build spends before its first model is done
    # dbt's own timing of each node, as dagster-dbt reports it.
    yield dg.MaterializeResult(asset_key="first_model", metadata={NODE_SECONDS: 0.25})
    time.sleep(WARM_UP / 2)
    yield dg.MaterializeResult(asset_key="second_model", metadata={NODE_SECONDS: 1.5})
    yield dg.AssetCheckResult(
        asset_key="second_model", check_name="unique_id", passed=True, metadata={NODE_SECONDS: 0.5}
    )


@dg.asset
def raw__pos_tickets() -> dg.MaterializeResult:
    """An ingest step: not a dbt build, whatever its metadata says."""
    return dg.MaterializeResult(metadata={NODE_SECONDS: 9.0})


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


def test_dbt_nodes_are_summed_by_kind_and_the_slowest_come_first():
    with dg.DagsterInstance.ephemeral() as instance:
        runs = [dg.materialize([dbt_models, raw__pos_tickets], instance=instance) for _ in range(2)]
        nodes = dbt_nodes(instance, [run.run_id for run in runs])
    # Two runs: each node's seconds add up; the ingest step's are not dbt's.
    assert nodes["models"] == 2 * (0.25 + 1.5)
    assert nodes["tests"] == 2 * 0.5
    assert nodes["slowest"] == [
        {"node": "second_model", "seconds": 3.0},
        {"node": "second_model:unique_id", "seconds": 1.0},
        {"node": "first_model", "seconds": 0.5},
    ]
