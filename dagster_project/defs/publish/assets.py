"""The publish asset: a read-only copy of the warehouse and Parquet files for BI tools.

It runs last in a day's run (after the analytics, their checks and the exports), so BI tools see
a day only when all of it is done, and never read the file the run writes. `lib/publish.py`.
"""

import dagster as dg

from dagster_project.config import Settings
from dagster_project.defs.exports.assets import (
    CAMPAIGN_RESULTS,
    CUSTOMER_CAMPAIGN_RESPONSES,
    SEGMENT_FILES,
)
from dagster_project.defs.plans.assets import PLAN_PROGRESS
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.publish import publish

PUBLISH_GROUP = "publish"
BI_SNAPSHOT = dg.AssetKey(["publish", "bi_snapshot"])


def publish_asset(settings: Settings, partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=BI_SNAPSHOT,
        deps=[SEGMENT_FILES, CAMPAIGN_RESULTS, CUSTOMER_CAMPAIGN_RESPONSES, PLAN_PROGRESS],
        group_name=PUBLISH_GROUP,
        kinds={"duckdb", "parquet"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
    )
    def bi_snapshot(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        """`<publish_dir>/warehouse.duckdb` (read-only copy of marts and analytics) and
        `<publish_dir>/parquet/<schema>/<table>.parquet`, each replaced by rename."""
        del context
        published = publish(
            settings.warehouse_path,
            settings.resolve(settings.publish_dir),
            memory_limit=settings.warehouse.memory_limit,
        )
        return dg.MaterializeResult(
            metadata={
                "warehouse": dg.MetadataValue.path(str(published.warehouse)),
                "parquet": dg.MetadataValue.path(str(published.parquet)),
                "tables": len(published.tables),
                "rows": dg.MetadataValue.json(published.tables),
            }
        )

    return bi_snapshot
