"""Ingest assets: one per landing source, each loading its days into `raw.<source>`.

Thin on purpose: the loading rules live in `lib/sources`; an asset picks the days of its run,
calls the loader, and reports counts. A file that cannot be read fails the asset with a one-line
message naming the file, and the loader's transaction leaves nothing of those days half-written.
"""

from collections.abc import Callable
from datetime import date, timedelta

import dagster as dg
import duckdb

from dagster_project.config import DATABASE_TABLE_KEYS, Settings
from dagster_project.defs.partitions import SINGLE_RUN, partition_days
from dagster_project.defs.privacy.keys import step_key
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.privacy import pseudonym_key
from dagster_project.lib.sources.database import DatabaseSourceError, DatabaseTable
from dagster_project.lib.sources.database_load import load_database_source
from dagster_project.lib.sources.files import SourceFileError
from dagster_project.lib.sources.generic import load_generic_transactions
from dagster_project.lib.sources.load import (
    IngestContext,
    LoadResult,
    add_missing_derived_columns,
    load_csv_source,
)
from dagster_project.lib.sources.shopify import load_shopify_customers, load_shopify_orders
from dagster_project.lib.sources.specs import (
    ALL_RAW_TABLES,
    FILE_SOURCES,
    GENERIC_TRANSACTIONS,
    SHOPIFY_ORDER_TABLES,
    SHOPIFY_ORDERS,
    Source,
)

INGEST_GROUP = "ingest"
Loader = Callable[[duckdb.DuckDBPyConnection, date, date, IngestContext], LoadResult]


def raw_key(source: Source) -> dg.AssetKey:
    return dg.AssetKey(["raw", source.name])


def ingest_context(settings: Settings) -> IngestContext:
    key, _ = pseudonym_key(settings.privacy.key_env)
    return IngestContext(
        landing_dir=settings.landing_path,
        pseudonym_key=key,
        default_region=settings.contacts.default_region,
        history_start=settings.start_date,
        timezone=settings.timezone,
    )


def _metadata(result: LoadResult, start: date, end: date) -> dict[str, object]:
    return {
        "days": f"{start.isoformat()} .. {end.isoformat()}",
        "files": result.files,
        "rows_read": result.rows_read,
        "rows_loaded": result.rows_loaded,
        "rows_quarantined": result.rows_quarantined,
        "quarantined_by_reason": dg.MetadataValue.json(result.quarantined_by_reason),
        "dagster/row_count": result.rows_loaded,
        **result.details,
    }


def _run_loader(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    settings: Settings,
    source_name: str,
    loader: Loader,
) -> LoadResult:
    start, end = partition_days(context)
    if step_key(settings)[1]:
        context.log.warning(
            f"{settings.privacy.key_env} is not set: customer keys use the documented demo key"
        )
    try:
        with warehouse.connect() as con:
            added = add_missing_derived_columns(con, ALL_RAW_TABLES, ingest_context(settings))
            if added:
                context.log.info(f"raw tables upgraded, new columns filled: {', '.join(added)}")
            result = loader(con, start, end, ingest_context(settings))
    except SourceFileError as error:
        raise dg.Failure(
            description=f"{source_name}: cannot load {error}",
            metadata={"file": error.file_name, "problem": error.problem},
            allow_retries=False,
        ) from None
    except DatabaseSourceError as error:
        raise dg.Failure(description=f"{source_name}: {error}", allow_retries=False) from None
    context.log.info(
        f"{source_name} {start}..{end}: {result.files} files, {result.rows_read} rows read, "
        f"{result.rows_loaded} loaded, {result.rows_quarantined} quarantined"
    )
    return result


def _ingest_asset(
    source: Source,
    description: str,
    settings: Settings,
    partitions: dg.PartitionsDefinition,
    loader: Loader,
) -> dg.AssetsDefinition:
    """An asset loading one source's days into `raw.<source>`."""

    @dg.asset(
        key=raw_key(source),
        group_name=INGEST_GROUP,
        description=description,
        kinds={"duckdb", "python"},
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
    )
    def _asset(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        result = _run_loader(context, warehouse, settings, source.name, loader)
        start, end = partition_days(context)
        return dg.MaterializeResult(metadata=_metadata(result, start, end))

    return _asset


def _folder_source_asset(
    source: Source, settings: Settings, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    source_dir = settings.folder_source_dir(source.name)
    if source.format == "jsonl":

        def loader(con, start, end, ctx):
            return load_shopify_customers(con, source_dir, start, end, ctx)
    else:

        def loader(con, start, end, ctx):
            return load_csv_source(con, source, source_dir, start, end, ctx)

    description = f"{source.description} Loaded from `{source.landing_path}/date=*/`."
    return _ingest_asset(source, description, settings, partitions, loader)


def _database_source_asset(
    source: Source, settings: Settings, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    database = settings.sources.pos_database
    configured = settings.sources.database_table(source.name)
    assert database is not None and configured is not None
    table = DatabaseTable(
        source=source,
        config_key=f"sources.pos_database.{DATABASE_TABLE_KEYS[source.name]}",
        table=configured.table,
        query=configured.query,
        updated_at_column=configured.updated_at_column,
        deleted_column=configured.deleted_column,
        columns=dict(configured.columns),
    )
    overlap = timedelta(minutes=database.overlap_minutes)

    # The run's last day bounds the changes read; the days before it were read by earlier runs.
    def loader(con, start, end, ctx):
        return load_database_source(con, table, database.url_env, end, ctx, overlap)

    description = (
        f"{source.description} Read from the POS database (`{table.label}`): the rows changed "
        "since the last run, up to the end of the run's last day."
    )
    return _ingest_asset(source, description, settings, partitions, loader)


def _shopify_orders_asset(settings: Settings, partitions: dg.PartitionsDefinition):
    source_dir = settings.folder_source_dir(SHOPIFY_ORDERS.name)

    @dg.multi_asset(
        name="raw_shopify_orders",
        specs=[
            dg.AssetSpec(
                raw_key(table),
                group_name=INGEST_GROUP,
                description=table.description,
                kinds={"duckdb", "python"},
            )
            for table in SHOPIFY_ORDER_TABLES
        ],
        partitions_def=partitions,
        backfill_policy=SINGLE_RUN,
        pool=WAREHOUSE_POOL,
    )
    def _asset(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        """Shopify orders, their line items and refund lines, from `ecommerce/orders/date=*/`."""
        result = _run_loader(
            context,
            warehouse,
            settings,
            SHOPIFY_ORDERS.name,
            lambda con, start, end, ctx: load_shopify_orders(con, source_dir, start, end, ctx),
        )
        start, end = partition_days(context)
        yield dg.MaterializeResult(
            asset_key=raw_key(SHOPIFY_ORDERS), metadata=_metadata(result, start, end)
        )
        for table in SHOPIFY_ORDER_TABLES[1:]:
            yield dg.MaterializeResult(asset_key=raw_key(table))

    return _asset


def _generic_transactions_asset(
    settings: Settings, partitions: dg.PartitionsDefinition
) -> dg.AssetsDefinition:
    generic = settings.sources.transactions
    assert generic is not None
    spec = generic.file_spec()

    def loader(con, start, end, ctx):
        return load_generic_transactions(con, spec, start, end, ctx)

    description = f"{GENERIC_TRANSACTIONS.description} Files: `{generic.path}`."
    return _ingest_asset(GENERIC_TRANSACTIONS, description, settings, partitions, loader)


def ingest_assets(
    settings: Settings, partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """Every folder source (an absent folder loads nothing) or its database table, and the generic
    file if configured."""
    assets = [
        _database_source_asset(source, settings, partitions)
        if settings.sources.database_table(source.name) is not None
        else _folder_source_asset(source, settings, partitions)
        for source in FILE_SOURCES
    ]
    assets.append(_shopify_orders_asset(settings, partitions))
    if settings.sources.transactions is not None:
        assets.append(_generic_transactions_asset(settings, partitions))
    return assets
