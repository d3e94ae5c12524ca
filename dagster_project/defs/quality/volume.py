"""Volume and freshness checks on the ingest assets: a warning, never a stop.

A day with nothing from a source that always delivers, a day far from its usual size, or (POS
tickets) a store that always sells but sent nothing, is reported on the asset's `volume` check and
printed by `loyalty run`; the day still loads. Rules and thresholds: `lib/volume.py`.
"""

from collections.abc import Iterable

import dagster as dg

from dagster_project.defs.partitions import partition_days
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.volume import source_volume_findings, store_volume_findings

# Sources of events, whose daily size follows the business; reference data (stores, catalogue)
# arrives as snapshots of any size.
EVENT_SOURCES = (
    "pos_tickets",
    "pos_members",
    "shopify_orders",
    "shopify_customers",
    "transactions",
)
SHOWN = 3
KEPT = 200


def _volume_check(asset_key: dg.AssetKey, partitions: dg.PartitionsDefinition):
    source = asset_key.path[-1]

    @dg.asset_check(
        asset=asset_key,
        name="volume",
        blocking=False,
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        description=(
            f"{source}: each day's rows against the same weekday of the previous eight weeks; "
            + ("stores that always sell but sent no tickets; " if source == "pos_tickets" else "")
            + "a warning, the day still loads."
        ),
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        first, last = partition_days(context)
        with warehouse.connect() as con:
            findings = source_volume_findings(con, source, first, last)
            if source == "pos_tickets":
                findings += store_volume_findings(con, first, last)
        findings.sort(key=lambda f: f.day)
        days = str(first) if first == last else f"{first}..{last}"
        if findings:
            shown = "; ".join(f.message for f in findings[:SHOWN])
            more = f"; and {len(findings) - SHOWN} more" if len(findings) > SHOWN else ""
            summary = f"{len(findings)} volume anomalies: {shown}{more}"
        else:
            summary = "volume as usual"
        return dg.AssetCheckResult(
            passed=not findings,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"{asset_key.to_user_string()} {days}: {summary}",
            metadata={
                "days": days,
                "anomalies": len(findings),
                "findings": dg.MetadataValue.json(
                    [{"day": str(f.day), "finding": f.message} for f in findings[:KEPT]]
                ),
            },
        )

    return _check


def volume_checks(
    asset_keys: Iterable[dg.AssetKey], partitions: dg.PartitionsDefinition
) -> list[dg.AssetChecksDefinition]:
    """A `volume` check for each ingest asset of an event source among `asset_keys`."""
    return [
        _volume_check(key, partitions)
        for key in asset_keys
        if key.path[0] == "raw" and key.path[-1] in EVENT_SOURCES
    ]
