"""The exports asset: segment files for the email tools, as of the partition's day.

Thin on purpose: who is in a segment, who may be contacted, the control group and the files are
`lib/exports`. The asset runs after the analytics of its day (and after their blocking checks: a
failed check leaves the previous exports as they were) and reports counts only.
"""

from datetime import date

import dagster as dg

from dagster_project.config import Settings
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.exports.build import SegmentError, export_day, forget_erased
from dagster_project.lib.privacy import demo_key_refusal, pseudonym_key

EXPORTS_GROUP = "exports"
SEGMENT_FILES = dg.AssetKey(["exports", "segment_files"])
CAMPAIGN_MEMBERS = dg.AssetKey(["analytics", "campaign_members"])
EXPORT_LOG = dg.AssetKey(["ops", "export_log"])
UPSTREAM = [
    dg.AssetKey(["analytics", "customer_segment_history"]),
    dg.AssetKey(["analytics", "customer_rfm"]),
    dg.AssetKey(["analytics", "customer_clv"]),
    dg.AssetKey(["pii", "customer_contactability"]),
]


def exports_asset(settings: Settings, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    exports = settings.exports

    @dg.multi_asset(
        name="segment_exports",
        specs=[
            dg.AssetSpec(
                SEGMENT_FILES,
                deps=UPSTREAM,
                group_name=EXPORTS_GROUP,
                kinds={"python", "csv"},
                description=(
                    "Per tool and segment: `<exports>/<tool>/<segment>/<as_of_date>/` with the "
                    "upsert file(s), the suppression file and manifest.json, written atomically."
                ),
            ),
            dg.AssetSpec(
                CAMPAIGN_MEMBERS,
                deps=UPSTREAM,
                group_name=EXPORTS_GROUP,
                kinds={"python", "duckdb"},
                description="Per export day and segment: who was sent (treated) and held out.",
            ),
            dg.AssetSpec(
                EXPORT_LOG,
                deps=UPSTREAM,
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
        key, is_demo_key = pseudonym_key(settings.privacy.key_env)
        if is_demo_key and not settings.privacy.demo:
            raise dg.Failure(
                description=demo_key_refusal(settings.privacy.key_env, settings.config_path),
                allow_retries=False,
            )
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
