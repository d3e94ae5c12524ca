"""Landing database rows in `raw.*` as if a file had delivered them, incrementally by watermark.

Fetched rows become the text columns a CSV file gives and go through the same checks (`validate`)
and writers (`load`), so a raw row is the same whether it came from a file or from the database.

- Watermark: `ops.source_watermarks` keeps, per raw table, the latest `updated_at` loaded. A run
  reads the rows changed after it, less `overlap` (a transaction that committed late can carry an
  older `updated_at`; re-reading a row is harmless), up to the end of the run's last day. It moves
  in the transaction that writes the rows: a failed run leaves the old watermark and the old rows.
- Day: a row's `partition_date` is the local day of its `updated_at`: the day it was delivered.
- Update: a changed row replaces the version loaded before (same batch key), so marts see it.
- Delete: a row the POS marks deleted (`deleted_column`) removes every loaded row of its record
  (entity key) and is not loaded itself. A row deleted outright is not seen by a read of changes:
  a full reload (no watermark) replaces everything the database loaded into the table.
- Lineage: `source_file` names the table (`pos_database:<table>`); `source_line` is null, the
  key columns identify the row. `ops.ingest_log` holds, per day, the rows the table holds now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import duckdb
import pyarrow as pa

from dagster_project.lib.sources import database
from dagster_project.lib.sources.csv_reader import sql_literal
from dagster_project.lib.sources.database import DELETED, UPDATED_AT, Changes, DatabaseTable
from dagster_project.lib.sources.load import (
    CHECKED_TABLE,
    FILES_TABLE,
    TEXT_TABLE,
    IngestContext,
    LoadResult,
    create_batch_tables,
    event_window,
    insert_ingest_log,
    insert_quarantine,
    insert_raw,
    transaction,
)
from dagster_project.lib.sources.validate import create_checked_table
from dagster_project.lib.warehouse import quote_ident

DEFAULT_OVERLAP = timedelta(minutes=10)
FROM_DATABASE = "source_file like 'pos_database:%'"


def read_watermark(con: duckdb.DuckDBPyConnection, table: DatabaseTable) -> datetime | None:
    """The latest `updated_at` loaded from this table; None (a full load) for another table."""
    rows = con.execute(
        "select high_watermark from ops.source_watermarks where source = ? and source_file = ?",
        [table.source.name, table.label],
    ).fetchall()
    return rows[0][0] if rows else None


def _save_watermark(
    con: duckdb.DuckDBPyConnection, table: DatabaseTable, value: datetime, is_utc: bool
) -> None:
    con.execute("delete from ops.source_watermarks where source = ?", [table.source.name])
    con.execute(
        "insert into ops.source_watermarks values (?, ?, ?, ?, cast(current_timestamp as timestamp))",
        [table.source.name, table.label, value, is_utc],
    )


def _stage(
    con: duckdb.DuckDBPyConnection, table: DatabaseTable, changes: Changes, timezone: str
) -> None:
    """The fetched rows as the batch's text columns, and the keys the deleted rows name."""
    source = table.source
    zone = sql_literal(timezone)
    types = {f.name: f.type for f in changes.rows.schema}

    def text(name: str) -> str:
        kind = types.get(name)
        if kind is None:
            return "cast(null as varchar)"
        if pa.types.is_timestamp(kind) and kind.tz is not None:
            # An instant is written as its local time, as a file states it.
            return f"cast(timezone({zone}, {quote_ident(name)}) as varchar)"
        return f"cast({quote_ident(name)} as varchar)"

    updated = f"timezone({zone}, {UPDATED_AT})" if changes.is_utc else UPDATED_AT
    order = ", ".join(quote_ident(k) for k in source.batch_key)
    texts = ", ".join(f"{text(c.name)} as {quote_ident(c.name)}" for c in source.columns)
    create_batch_tables(con, [c.name for c in source.columns])
    # Lines number the batch so that duplicates are found as in a file; they are not kept.
    con.execute(
        f"""insert into {TEXT_TABLE} by name
        select cast({updated} as date) as partition_date, ? as source_file,
            row_number() over (order by {UPDATED_AT}, {order}) as source_line, {texts}
        from fetched_rows where not {DELETED}""",
        [table.label],
    )
    keys = ", ".join(f"nullif(trim({text(k)}), '') as {quote_ident(k)}" for k in table.entity_key)
    con.execute(
        f"create or replace temp table deleted_keys as "
        f"select distinct {keys} from fetched_rows where {DELETED}"
    )
    keys = ", ".join(
        f"nullif(trim({quote_ident(k)}), '') as {quote_ident(k)}" for k in source.batch_key
    )
    con.execute(
        f"create or replace temp table replaced_keys as select distinct {keys} from {TEXT_TABLE}"
    )


def _matches(keys_table: str, columns: Sequence[str], value: Callable[[str], str]) -> str:
    pairs = " and ".join(f"k.{quote_ident(c)} = {value(c)}" for c in columns)
    return f"exists (select 1 from {keys_table} as k where {pairs})"


def _remove_replaced(con: duckdb.DuckDBPyConnection, table: DatabaseTable, full: bool) -> int:
    """Delete the earlier versions of the batch's rows and the deleted records' rows (on a full
    load: every row from the database), noting their days; return the raw rows deleted records
    removed."""
    name = table.source.name

    def in_raw(c: str) -> str:
        return f"cast(r.{quote_ident(c)} as varchar)"

    def in_quarantine(c: str) -> str:
        return f"nullif(trim(json_extract_string(r.raw_record, '$.\"{c}\"')), '')"

    deleted_raw = _matches("deleted_keys", table.entity_key, in_raw)
    conditions = {
        f"raw.{name}": (
            f"{_matches('replaced_keys', table.source.batch_key, in_raw)} or {deleted_raw}"
        ),
        # A record that did not parse has no key; an identical copy of it is still the same row.
        f"quarantine.{name}": (
            f"{_matches('replaced_keys', table.source.batch_key, in_quarantine)} "
            f"or {_matches('deleted_keys', table.entity_key, in_quarantine)} "
            f"or r.raw_record in (select raw_record from {CHECKED_TABLE})"
        ),
    }
    (removed_by_deletes,) = con.execute(
        f"select count(*) from raw.{name} as r where {FROM_DATABASE} and ({deleted_raw})"
    ).fetchone()
    con.execute(
        "create or replace temp table removed_days (partition_date date, source_file varchar)"
    )
    for target, condition in conditions.items():
        where = f"{FROM_DATABASE} and ({'true' if full else condition})"
        con.execute(
            f"insert into removed_days select distinct partition_date, source_file "
            f"from {target} as r where {where}"
        )
        con.execute(f"delete from {target} as r where {where}")
    return removed_by_deletes


def _log_days(con: duckdb.DuckDBPyConnection, table: DatabaseTable) -> list[date]:
    """Recount `ops.ingest_log` for every day and table the load added to or removed from."""
    name = table.source.name
    con.execute(
        f"""delete from {FILES_TABLE};
        insert into {FILES_TABLE}
        select distinct partition_date, source_file, cast(null as varchar) from (
            select partition_date, source_file from {TEXT_TABLE}
            union all select partition_date, source_file from removed_days
        )"""
    )
    days = [
        row[0]
        for row in con.execute(
            f"select distinct partition_date from {FILES_TABLE} order by 1"
        ).fetchall()
    ]
    if not days:
        return days
    con.execute(
        f"""delete from ops.ingest_log as l where source = ? and exists (
            select 1 from {FILES_TABLE} as f
            where f.partition_date = l.partition_date and f.source_file = l.source_file)""",
        [name],
    )
    insert_ingest_log(con, name, f"raw.{name}", f"quarantine.{name}", days[0], days[-1])
    # A day whose every row the database replaced elsewhere or deleted holds nothing from it.
    con.execute(
        f"delete from ops.ingest_log where source = ? and {FROM_DATABASE} and rows_read = 0",
        [name],
    )
    return days


def load_database_source(
    con: duckdb.DuckDBPyConnection,
    table: DatabaseTable,
    url_env: str,
    end: date,
    ctx: IngestContext,
    overlap: timedelta = DEFAULT_OVERLAP,
) -> LoadResult:
    """Load the rows of `table` changed since the watermark, up to the end of day `end`."""
    source = table.source
    watermark = read_watermark(con, table)
    until = datetime.combine(end + timedelta(days=1), time(), ZoneInfo(ctx.timezone))
    since = watermark - overlap if watermark else None
    with (
        database.connect(url_env) as connection,
        database.read_changes(connection, table, since, until) as changes,
    ):
        # DuckDB takes the stream batch by batch (spilling to disk if it must): a first load of
        # years of tickets never sits whole in Python's memory.
        con.register("fetched_stream", changes.rows)
        try:
            con.execute("create or replace temp table fetched_rows as select * from fetched_stream")
        except duckdb.Error as error:
            raise database.read_failure(table, error) from None
        finally:
            con.unregister("fetched_stream")
    (latest_read,) = con.execute(f"select max({UPDATED_AT}) from fetched_rows").fetchone()
    latest = max(
        filter(None, (watermark, database.watermark_value(latest_read, changes.is_utc))),
        default=None,
    )
    _stage(con, table, changes, ctx.timezone)
    create_checked_table(con, source, TEXT_TABLE, CHECKED_TABLE, window=event_window(source, ctx))
    con.execute(f"update {CHECKED_TABLE} set source_line = null")
    with transaction(con):
        removed = _remove_replaced(con, table, full=watermark is None)
        insert_raw(con, source, CHECKED_TABLE, ctx)
        insert_quarantine(con, source.name, CHECKED_TABLE)
        days = _log_days(con, table)
        # In this transaction: the watermark moves only with the rows it stands for.
        if latest is not None:
            _save_watermark(con, table, latest, changes.is_utc)
    return _result(con, table, changes, watermark is None, days, removed, latest)


def _result(
    con: duckdb.DuckDBPyConnection,
    table: DatabaseTable,
    changes: Changes,
    full: bool,
    days: list[date],
    removed: int,
    latest: datetime | None,
) -> LoadResult:
    loaded, quarantined = con.execute(
        f"select count(*) filter (where reason_code is null), "
        f"count(*) filter (where reason_code is not null) from {CHECKED_TABLE}"
    ).fetchone()
    reasons = dict(
        con.execute(
            f"select reason_code, count(*) from {CHECKED_TABLE} where reason_code is not null "
            "group by all order by 1"
        ).fetchall()
    )
    (deleted,) = con.execute("select count(*) from deleted_keys").fetchone()
    details: dict[str, object] = {
        "full_load": full,
        "days_touched": f"{days[0]} .. {days[-1]} ({len(days)} days)" if days else "none",
        "records_deleted": deleted,
        "raw_rows_deleted": removed,
        "rows_without_updated_at": changes.rows_without_updated_at,
    }
    if latest is not None:
        details["high_watermark"] = latest.isoformat()
    return LoadResult(
        table.source.name, 1, loaded + quarantined, loaded, quarantined, reasons, details
    )
