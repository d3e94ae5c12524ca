"""Great Expectations suites as blocking Dagster asset checks, one check per suite file.

`expectations/<asset>.json` guards the asset whose table is `<asset>`. The check validates that
asset's rows of the run's day (analytics: `as_of_date`; raw: `partition_date`) and reports every
expectation's outcome in its metadata. An `error` expectation that fails fails the check, which
blocks what comes downstream; a failing `warn` expectation is reported and nothing stops.
"""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.quality import (
    EXPECTATIONS_DIR,
    ExpectationOutcome,
    load_suite,
    suites,
    validate_frame,
)
from dagster_project.lib.warehouse import quote_ident


def _day_column(asset_key: dg.AssetKey) -> str:
    return "as_of_date" if asset_key.path[0] == "analytics" else "partition_date"


def _summary(outcomes: list[ExpectationOutcome]) -> str:
    failed = [o for o in outcomes if not o.success]
    if not failed:
        return f"all {len(outcomes)} expectations met"
    return "; ".join(f"{o.name} [{o.severity}]: {o.unexpected_count} unexpected" for o in failed)


def _suite_check(asset_key: dg.AssetKey, suite_file: Path, partitions: dg.PartitionsDefinition):
    suite = load_suite(suite_file)
    table = ".".join(quote_ident(part) for part in asset_key.path)
    day_column = _day_column(asset_key)

    @dg.asset_check(
        asset=asset_key,
        name="gx_suite",
        blocking=True,
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        description=(suite.get("meta") or {}).get("description")
        or f"Great Expectations suite expectations/{suite_file.name}",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        day = context.partition_key
        with warehouse.connect() as con:
            frame = con.execute(f"select * from {table} where {day_column} = ?", [day]).df()
        outcomes = validate_frame(frame, suite_file)
        errors = [o for o in outcomes if not o.success and o.severity == "error"]
        failed = [o for o in outcomes if not o.success]
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
            description=f"{asset_key.to_user_string()} {day}: {_summary(outcomes)}",
            metadata={
                "suite": f"expectations/{suite_file.name}",
                "rows": len(frame),
                "expectations": dg.MetadataValue.json(
                    [
                        {
                            "expectation": o.name,
                            "severity": o.severity,
                            "success": o.success,
                            "unexpected_count": o.unexpected_count,
                            "examples": list(o.examples),
                        }
                        for o in outcomes
                    ]
                ),
            },
        )

    return _check


def suite_checks(
    asset_keys: Iterable[dg.AssetKey],
    partitions: dg.PartitionsDefinition,
    folder: Path = EXPECTATIONS_DIR,
) -> list[dg.AssetChecksDefinition]:
    """A check for every suite file in `folder` whose name is the table of one of `asset_keys`."""
    by_table = {key.path[-1]: key for key in asset_keys}
    checks = []
    for name, path in suites(folder).items():
        if name not in by_table:
            raise ValueError(f"expectations/{path.name} guards no asset: no table named {name}")
        checks.append(_suite_check(by_table[name], path, partitions))
    return checks
