"""The exports asset: segment files for the email tools, as of the partition's day.

Thin on purpose: who is in a segment, who may be contacted, the control group and the files are
`lib/exports`. The asset runs after the analytics of its day (and after their blocking checks: a
failed check leaves the previous exports as they were) and reports counts only.
"""

from datetime import date

import dagster as dg
import pandas as pd
from dagster_dbt import get_asset_key_for_model

from dagster_project.config import Settings
from dagster_project.defs.analytics.clv import CUSTOMER_CLV
from dagster_project.defs.privacy.keys import step_key
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.exports.build import SegmentError, export_day, forget_erased
from dagster_project.lib.exports.responses import record_responses
from dagster_project.lib.exports.results import results_for_day
from dagster_project.lib.tables import CAMPAIGN_RESULTS as CAMPAIGN_RESULTS_TABLE
from dagster_project.lib.warehouse import replace_rows

EXPORTS_GROUP = "exports"
SEGMENT_FILES = dg.AssetKey(["exports", "segment_files"])
CAMPAIGN_MEMBERS = dg.AssetKey(["analytics", "campaign_members"])
EXPORT_LOG = dg.AssetKey(["ops", "export_log"])
CAMPAIGN_RESULTS = dg.AssetKey(["analytics", "campaign_results"])
CUSTOMER_CAMPAIGN_RESPONSES = dg.AssetKey(["analytics", "customer_campaign_responses"])


def exports_asset(
    settings: Settings, partitions: dg.PartitionsDefinition, dbt: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    exports = settings.exports
    upstream = [
        get_asset_key_for_model([dbt], "customer_segment_history"),
        get_asset_key_for_model([dbt], "customer_rfm"),
        get_asset_key_for_model([dbt], "customer_deal_sensitivity"),
        CUSTOMER_CLV,
        get_asset_key_for_model([dbt], "customer_contactability"),
    ]

    @dg.multi_asset(
        name="segment_exports",
        specs=[
            dg.AssetSpec(
                SEGMENT_FILES,
                deps=upstream,
                group_name=EXPORTS_GROUP,
                kinds={"python", "csv"},
                description=(
                    "Per tool and segment: `<exports>/<tool>/<segment>/<as_of_date>/` with the "
                    "upsert file(s), the opt-out and leavers files and manifest.json, written atomically."
                ),
            ),
            dg.AssetSpec(
                CAMPAIGN_MEMBERS,
                deps=upstream,
                group_name=EXPORTS_GROUP,
                kinds={"python", "duckdb"},
                description="Per export day and segment: who was sent (treated) and held out.",
            ),
            dg.AssetSpec(
                EXPORT_LOG,
                deps=upstream,
                group_name=EXPORTS_GROUP,
                kinds={"python", "duckdb"},
                description="One row per export file: tool, segment, kind, rows, sha256.",
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
    )
    def _segment_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        as_of = date.fromisoformat(context.partition_key)
        key, _ = step_key(settings)
        with warehouse.connect() as con:
            try:
                summary = export_day(
                    con, exports, settings.resolve(settings.exports_dir), as_of, key
                )
            except SegmentError as error:
                raise dg.Failure(description=str(error), allow_retries=False) from None
            forgotten = forget_erased(con)
        context.log.info(
            f"Exports as of {as_of}: {len(summary.segments)} segments, {len(exports.tools)} tools, "
            f"{summary.files} files"
        )
        yield dg.MaterializeResult(
            asset_key=SEGMENT_FILES,
            metadata={
                "tools": ", ".join(exports.tools) or "none configured",
                "files": summary.files,
                "segments": dg.MetadataValue.json(summary.segments),
                "erased_addresses_forgotten": forgotten,
            },
        )
        yield dg.MaterializeResult(
            asset_key=CAMPAIGN_MEMBERS,
            metadata={
                "dagster/row_count": sum(s["members"] for s in summary.segments.values()),
            },
        )
        yield dg.MaterializeResult(asset_key=EXPORT_LOG, metadata={"files": summary.files})

    return _segment_exports


def coupons_by_segment(settings: Settings) -> dict[str, list[str]]:
    """Each export segment's plan coupons: those of the plans that target it by name."""
    return {
        segment: [
            coupon
            for plan in settings.plans.values()
            if plan.targets.segment == segment
            for coupon in plan.coupons
        ]
        for segment in settings.exports.segments
    }


def campaign_results_asset(
    settings: Settings, partitions: dg.PartitionsDefinition, dbt: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    exports = settings.exports
    upstream = [
        CAMPAIGN_MEMBERS,
        get_asset_key_for_model([dbt], "fct_transactions"),
        get_asset_key_for_model([dbt], "fct_campaign_activity"),
    ]

    @dg.multi_asset(
        name="campaign_results",
        specs=[
            dg.AssetSpec(
                CAMPAIGN_RESULTS,
                deps=upstream,
                group_name=EXPORTS_GROUP,
                kinds={"python", "duckdb"},
                description=(
                    "Per campaign, the export made `campaign_window_days` before the day: treated "
                    "and control size, purchase rate, revenue per head, incremental buyers and "
                    "revenue, and 95 % intervals on the lift (method: docs/analytics.md)."
                ),
            ),
            dg.AssetSpec(
                CUSTOMER_CAMPAIGN_RESPONSES,
                deps=upstream,
                group_name=EXPORTS_GROUP,
                kinds={"python", "duckdb"},
                description=(
                    "Per customer and wave (treated and control): whether and when they bought in "
                    "the window, orders, revenue, whether they used a plan's coupon, and (when "
                    "the email tools reported on the wave) whether it was sent, delivered, "
                    "opened, clicked."
                ),
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
    )
    def campaign_results(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        as_of = date.fromisoformat(context.partition_key)
        with warehouse.connect() as con:
            rows = results_for_day(con, list(exports.segments), as_of, exports.campaign_window_days)
            frame = pd.DataFrame(rows, columns=CAMPAIGN_RESULTS_TABLE.column_names)
            replace_rows(con, CAMPAIGN_RESULTS_TABLE, frame, {"as_of_date": as_of})
            responses = record_responses(
                con, coupons_by_segment(settings), as_of, exports.campaign_window_days
            )
        yield dg.MaterializeResult(
            asset_key=CAMPAIGN_RESULTS,
            metadata={
                "dagster/row_count": len(rows),
                "waves": dg.MetadataValue.json(
                    [
                        {
                            "campaign": r["campaign"],
                            "export_date": str(r["export_date"]),
                            "treated": r["treated"],
                            "control": r["control"],
                            "purchase_rate_lift": round(r["purchase_rate_lift"], 4),
                            "incremental_revenue": round(r["incremental_revenue"], 2),
                        }
                        for r in rows
                    ]
                ),
            },
        )
        yield dg.MaterializeResult(
            asset_key=CUSTOMER_CAMPAIGN_RESPONSES, metadata={"rows_measured": responses}
        )

    return campaign_results
