"""The plans asset: each plan of loyalty.yml against its objective and its control group, as of
the partition's day (lib/plans.py), and a warning for each plan that is off track.

A plan off track is a warning, not a failure: the day's tables are right, the plan is what needs
a look, by its owner. The check names the plan, the metric and the gap.
"""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from dagster_project.config import Settings
from dagster_project.defs.exports.assets import CAMPAIGN_MEMBERS, CAMPAIGN_RESULTS
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.plans import Target, plan_progress
from dagster_project.lib.tables import PLAN_PROGRESS as PLAN_PROGRESS_TABLE
from dagster_project.lib.warehouse import replace_rows

PLANS_GROUP = "plans"
PLAN_PROGRESS = dg.AssetKey(["analytics", "plan_progress"])
ON_TRACK = "on_track"


def plan_targets(settings: Settings) -> dict[str, Target]:
    """Whom each plan is for: its export segment's rule, or its own."""
    targets = {}
    for name, plan in settings.plans.items():
        segment = plan.targets.segment
        if segment:
            rule = settings.exports.segments[segment]
            targets[name] = Target(rule, f"exports.segments.{segment}", segment)
        else:
            targets[name] = Target(plan.targets, f"plans.{name}.targets", None)
    return targets


def off_track_line(row: dict) -> str:
    """`plan: metric at A, G below (above) where it should be (E) on the way to T by due`."""
    direction = "below" if row["target_value"] >= row["baseline_value"] else "above"
    return (
        f"{row['plan']}: {row['metric']} at {row['actual_value']:,.2f}, "
        f"{abs(row['gap']):,.2f} {direction} where it should be ({row['expected_value']:,.2f}) "
        f"on the way to {row['target_value']:,.2f} by {row['due_date']}"
    )


def plan_progress_asset(
    settings: Settings, partitions: dg.PartitionsDefinition, dbt: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    targets = plan_targets(settings)
    upstream = [
        CAMPAIGN_MEMBERS,
        CAMPAIGN_RESULTS,
        *(
            get_asset_key_for_model([dbt], model)
            for model in ("customer_segment_history", "customer_lifecycle", "kpi_daily")
        ),
    ]

    @dg.asset(
        key=PLAN_PROGRESS,
        deps=upstream,
        group_name=PLANS_GROUP,
        kinds={"python", "duckdb"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
        check_specs=[
            dg.AssetCheckSpec(
                ON_TRACK,
                asset=PLAN_PROGRESS,
                description="Every plan is at or beyond the line from its baseline to its target.",
            )
        ],
    )
    def plan_progress_of_the_day(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        """Per plan and as-of day: the objective's metric against the line to its target, on
        track or not, people contacted, spend, incremental buyers and revenue against the control
        group with an interval, cost per incremental customer and return on the spend."""
        as_of = date.fromisoformat(context.partition_key)
        with warehouse.connect() as con:
            rows = [
                plan_progress(con, name, plan, targets[name], as_of)
                for name, plan in settings.plans.items()
            ]
            frame = pd.DataFrame(rows, columns=PLAN_PROGRESS_TABLE.column_names)
            replace_rows(con, PLAN_PROGRESS_TABLE, frame, {"as_of_date": as_of})
        off_track = [row for row in rows if row["is_on_track"] is False]
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": len(rows),
                "plans": dg.MetadataValue.json(
                    [
                        {
                            "plan": row["plan"],
                            "metric": row["metric"],
                            "actual": row["actual_value"],
                            "expected": row["expected_value"],
                            "on_track": row["is_on_track"],
                            "roi": row["roi"],
                        }
                        for row in rows
                    ]
                ),
            }
        )
        yield dg.AssetCheckResult(
            check_name=ON_TRACK,
            passed=not off_track,
            severity=dg.AssetCheckSeverity.WARN,
            description="; ".join(off_track_line(row) for row in off_track) or None,
            metadata={"off_track": len(off_track), "plans": len(rows)},
        )

    return plan_progress_of_the_day
