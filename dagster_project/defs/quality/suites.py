"""Great Expectations suites as blocking Dagster asset checks, one check per suite file.

`expectations/<asset>.json` guards the asset whose table is `<asset>`. The check validates that
asset's rows of the run's days (raw: `partition_date`, every day of a range run; analytics and
pii: `as_of_date`, one day), counted by SQL inside DuckDB with GX's verdicts (lib/quality_sql.py)
unless `quality.data_docs` asks GX to validate every batch, and reports every expectation's outcome, with its unexpected rows per day, in
its metadata. An `error` expectation that fails fails the check, which blocks what comes
downstream; a failing `warn` expectation is reported and nothing stops.
"""

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

import dagster as dg

from dagster_project.defs.partitions import partition_days
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.quality import (
    EXPECTATIONS_DIR,
    ExpectationOutcome,
    load_suite,
    suite_columns,
    suite_parameters,
    suites,
    validate_frame,
)
from dagster_project.lib.quality_sql import translatable, validate_in_duckdb
from dagster_project.lib.sources.specs import SOURCES_BY_NAME
from dagster_project.lib.warehouse import quote_ident

# A column raw suites may use that no raw table stores: days from the record's own date (its
# source's event column, e.g. `sold_at`) to the day it was delivered, so a suite can hold records
# to a plausible window around their partition day.
EVENT_LAG_COLUMN = "event_lag_days"
DataDocs = Literal["every_check", "failures", "off"]
DAYS_SHOWN = 3


def _day_column(asset_key: dg.AssetKey) -> str:
    """Raw batches are days of delivery; everything computed from them is as of a day."""
    return "partition_date" if asset_key.path[0] == "raw" else "as_of_date"


def _failure_text(outcome: ExpectationOutcome) -> str:
    text = f"{outcome.name} [{outcome.severity}]: {outcome.unexpected_count} unexpected"
    days = outcome.unexpected_by_day
    if len(days) > 1:
        shown = ", ".join(f"{day}: {count}" for day, count in days[:DAYS_SHOWN])
        text += f" ({shown}{', …' if len(days) > DAYS_SHOWN else ''})"
    return text


def _summary(days: str, outcomes: list[ExpectationOutcome]) -> str:
    failed = [o for o in outcomes if not o.success]
    if not failed:
        return f"{days}: all {len(outcomes)} expectations met"
    # A failure on a single day of a range names that day rather than the range.
    single_days = {o.unexpected_by_day[0][0] for o in failed if len(o.unexpected_by_day) == 1}
    if len(single_days) == 1 and all(len(o.unexpected_by_day) == 1 for o in failed):
        days = single_days.pop()
    return f"{days}: " + "; ".join(_failure_text(o) for o in failed)


def _select_sql(table: str, columns: list[str], day_column: str, event_column: str | None) -> str:
    """The batch: the columns the suite reads, of the days `$first` to `$last`."""
    wanted = [quote_ident(c) for c in columns if c != EVENT_LAG_COLUMN]
    if EVENT_LAG_COLUMN in columns and event_column is not None:
        wanted.append(
            f"datediff('day', cast({quote_ident(event_column)} as date), {day_column}) "
            f"as {EVENT_LAG_COLUMN}"
        )
    return (
        f"select {', '.join(wanted)} from {table} where {day_column} between {{first}} and {{last}}"
    )


def _suite_check(
    asset_key: dg.AssetKey,
    suite_file: Path,
    partitions: dg.PartitionsDefinition,
    docs_dir: Path | None,
    data_docs: DataDocs,
):
    suite = load_suite(suite_file)
    table = ".".join(quote_ident(part) for part in asset_key.path)
    day_column = _day_column(asset_key)
    source = SOURCES_BY_NAME.get(asset_key.path[-1]) if asset_key.path[0] == "raw" else None
    # Only the columns the suite reads: a two-year range of ticket lines is large.
    columns = [day_column, *(c for c in suite_columns(suite) if c != day_column)]
    select = _select_sql(table, columns, day_column, source.event_column if source else None)
    parameters = suite_parameters(suite, suite_file.name)

    @dg.asset_check(
        asset=asset_key,
        name="gx_suite",
        blocking=True,
        partitions_def=partitions,
        pool=WAREHOUSE_POOL,
        additional_deps=sorted(
            {dg.AssetKey([p.schema, p.table]) for p in parameters} - {asset_key}
        ),
        description=(suite.get("meta") or {}).get("description")
        or f"Great Expectations suite expectations/{suite_file.name}",
    )
    def _check(
        context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource
    ) -> dg.AssetCheckResult:
        first, last = partition_days(context)
        batch = select.format(first=f"date '{first}'", last=f"date '{last}'")
        by_sql = data_docs != "every_check" and translatable(suite)
        with warehouse.connect() as con:
            values = {
                p.name: [
                    v
                    for (v,) in con.execute(
                        f"select distinct {quote_ident(p.column)} "
                        f"from {quote_ident(p.schema)}.{quote_ident(p.table)} "
                        f"where {quote_ident(p.column)} is not null"
                    ).fetchall()
                ]
                for p in parameters
            }
            outcomes, rows = [], 0
            if by_sql:
                outcomes = validate_in_duckdb(
                    con, batch, suite, parameters=values, day_column=day_column
                )
                (rows,) = con.execute(f"select count(*) from ({batch})").fetchone()
            # GX validates the rows itself when asked to for every check, when SQL cannot count
            # the suite, and for the Data Docs page of a suite that failed.
            by_gx = not by_sql or (data_docs == "failures" and any(not o.success for o in outcomes))
            if by_gx:
                frame = con.execute(batch).df()
                rows = len(frame)
        docs = docs_dir if by_gx and data_docs != "off" else None
        if by_gx:
            outcomes = validate_frame(
                frame, suite_file, parameters=values, day_column=day_column, docs_dir=docs
            )
        errors = [o for o in outcomes if not o.success and o.severity == "error"]
        failed = [o for o in outcomes if not o.success]
        days = str(first) if first == last else f"{first}..{last}"
        return dg.AssetCheckResult(
            passed=not failed,
            severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
            description=f"{asset_key.to_user_string()} {_summary(days, outcomes)}",
            metadata={
                "suite": f"expectations/{suite_file.name}",
                "days": days,
                "rows": rows,
                "validated_by": "great_expectations" if by_gx else "duckdb",
                **(
                    {"data_docs": dg.MetadataValue.url((docs / "index.html").as_uri())}
                    if docs is not None
                    else {}
                ),
                "expectations": dg.MetadataValue.json(
                    [
                        {
                            "expectation": o.name,
                            "severity": o.severity,
                            "success": o.success,
                            "unexpected_count": o.unexpected_count,
                            "unexpected_by_day": dict(o.unexpected_by_day),
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
    docs_dir: Path | None = None,
    data_docs: DataDocs = "failures",
) -> list[dg.AssetChecksDefinition]:
    """A check for every suite file in `folder` whose name is the table of one of `asset_keys`;
    with `docs_dir`, validations go to the GX Data Docs site there: every one (`data_docs`
    every_check), those that failed (failures: the verdicts are counted by SQL in DuckDB, and a
    failing suite is validated again by GX for its page), or none (off).

    A suite of a source this configuration does not have (the generic sales file) is unused; a
    suite that names no table at all is an error (a typo in its file name).
    """
    by_table = {key.path[-1]: key for key in asset_keys}
    checks = []
    for name, path in suites(folder).items():
        if name not in by_table and name in SOURCES_BY_NAME:
            continue
        if name not in by_table:
            raise ValueError(f"expectations/{path.name} guards no asset: no table named {name}")
        checks.append(_suite_check(by_table[name], path, partitions, docs_dir, data_docs))
    return checks
