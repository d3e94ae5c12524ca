"""The customer report asset: `<reports>/customer_report_<as_of_date>.html` after each day's run.

It runs once the day's analytics, CLV and exports are done (and their blocking checks passed),
so the page shows the day as published. The page is `lib/report`; this asset writes it and puts
the headline numbers and every chart (PNG in Markdown) in the materialisation's metadata, so the
Dagster UI shows them too. Aggregates only: no customer key, name or address.
"""

from datetime import date

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.config import Settings
from dagster_project.defs.analytics.clv import CLV_MODEL_RUNS, CUSTOMER_CLV
from dagster_project.defs.exports.assets import CAMPAIGN_MEMBERS, EXPORT_LOG, SEGMENT_FILES
from dagster_project.defs.publish.assets import PUBLISH_GROUP
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.report import build_report, write_report
from dagster_project.lib.report.build import chart_markdown
from dagster_project.lib.report.data import HEADLINE_KPIS

CUSTOMER_REPORT = dg.AssetKey(["report", "customer_report"])
# The dbt models the page reads.
MODELS_READ = (
    "customer_rfm",
    "revenue_concentration",
    "customer_lifecycle",
    "customer_segment_history",
    "segment_transitions",
    "kpi_daily",
    "cohort_retention",
)


def customer_report_asset(
    settings: Settings, partitions: dg.PartitionsDefinition, dbt: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    upstream = [
        *(get_asset_key_for_model([dbt], name) for name in MODELS_READ),
        CUSTOMER_CLV,
        CLV_MODEL_RUNS,
        SEGMENT_FILES,
        CAMPAIGN_MEMBERS,
        EXPORT_LOG,
    ]

    @dg.asset(
        key=CUSTOMER_REPORT,
        deps=upstream,
        group_name=PUBLISH_GROUP,
        kinds={"html"},
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
    )
    def customer_report(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        """`<reports>/customer_report_<as_of_date>.html` (and `customer_report_latest.html`): a
        self-contained page with the headline KPIs and their trend, segment and tier sizes with
        revenue share, the Pareto curve, cohort retention, lifecycle flow, CLV by tier and the
        CLV model's holdout plots, quarantined rows by reason, and the exports made."""
        as_of = date.fromisoformat(context.partition_key)
        reports_dir = settings.resolve(settings.reports_dir)
        with warehouse.connect() as con:
            report = build_report(con, as_of, reports_dir)
        files = write_report(report, reports_dir)
        context.log.info(
            f"Customer report as of {as_of}: {files.path} ({len(report.charts)} charts)"
        )
        kpis = report.data.kpis.values if report.data.kpis else {}
        metadata: dict[str, dg.RawMetadataValue] = {
            "report": dg.MetadataValue.path(str(files.path)),
            "latest": dg.MetadataValue.path(str(files.latest))
            if files.latest
            else "unchanged: a later day's report is the latest",
            "charts": len(report.charts),
        }
        for name in HEADLINE_KPIS:
            value = kpis.get(name)
            if value is None:
                continue
            is_count = name.startswith(("customers", "active_", "new_"))
            metadata[name] = (
                dg.MetadataValue.int(int(value))
                if is_count
                else dg.MetadataValue.float(float(value))
            )
        for chart_id, chart in report.charts.items():
            metadata[f"chart_{chart_id}"] = dg.MetadataValue.md(chart_markdown(chart))
        return dg.MaterializeResult(metadata=metadata)

    return customer_report
