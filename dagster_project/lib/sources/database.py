"""Reading POS tables from a relational database (PostgreSQL) in bulk, as Arrow.

ADBC's PostgreSQL driver reads a result with PostgreSQL's binary COPY protocol straight into Arrow
columns: no row passes through Python. The URL comes from an environment variable, never from
loyalty.yml (it may hold a password), and never appears in a message or in the warehouse.

A table is read by change: the rows whose `updated_at` is after the last run's watermark and
before the end of the run's last day. The POS must set that column on every insert and update.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from dagster_project.lib.sources.specs import Source
from dagster_project.lib.warehouse import quote_ident

DEFAULT_URL_ENV = "LOYALTY_POS_DATABASE_URL"
# Columns the fetch adds beside the source's own (canonical) columns.
UPDATED_AT = "__updated_at"
DELETED = "__deleted"
# A ticket line is one record; a member is one record across all their versions (card_id,
# updated_at), so deleting a member removes every version of them.
ENTITY_KEYS = {"pos_tickets": ("ticket_id", "line_number"), "pos_members": ("card_id",)}


class DatabaseSourceError(Exception):
    """The database cannot be read as configured; the message is one line naming the key."""


@dataclass(frozen=True)
class DatabaseTable:
    """One POS table (or query) of the database source and the raw table it lands in."""

    source: Source
    config_key: str  # e.g. sources.pos_database.tickets, for messages
    table: str | None = None  # schema.table
    query: str | None = None  # or a SELECT giving the columns
    updated_at_column: str = "updated_at"
    deleted_column: str | None = None
    columns: Mapping[str, str] = field(default_factory=dict)  # canonical → database, if they differ

    @property
    def entity_key(self) -> tuple[str, ...]:
        """The columns naming one record of the POS: what a row marked deleted removes."""
        return ENTITY_KEYS[self.source.name]

    @property
    def label(self) -> str:
        """The `source_file` of its rows: names the table, never the server."""
        return f"pos_database:{self.table or self.source.name + ' query'}"

    @property
    def relation(self) -> str:
        if self.table:
            return ".".join(quote_ident(part) for part in self.table.split("."))
        return f"({self.query.strip().rstrip(';')}) as source_query"

    @property
    def described(self) -> str:
        return (
            f"{self.config_key}.table ({self.table})" if self.table else f"{self.config_key}.query"
        )


@dataclass(frozen=True)
class Changes:
    """Rows changed in a window: canonical columns, plus `__updated_at` and `__deleted`."""

    # Streamed in batches: read once, while the connection is open.
    rows: pa.RecordBatchReader
    # A timestamptz column: its values (and the watermark) are instants, kept in UTC.
    is_utc: bool
    rows_without_updated_at: int  # rows no read of changes can see


def _reason(error: Exception, url: str = "") -> str:
    """The driver's message in one line, without its status prefix or any credentials."""
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    line = lines[0] if lines else type(error).__name__
    line = re.sub(r"^[A-Z_]+: (\[libpq\] )?", "", line)
    line = re.sub(r"\b(ERROR|FATAL):\s+", "", line)
    if url:
        line = line.replace(url, "<url>")
    return re.sub(r"://[^/@\s]*@", "://***@", line).strip()


def connect(url_env: str = DEFAULT_URL_ENV) -> Any:
    """An ADBC connection to the database whose URL is in the environment variable `url_env`."""
    url = os.environ.get(url_env, "").strip()
    if not url:
        raise DatabaseSourceError(
            f"{url_env} is not set: export the POS database URL "
            f"(postgresql://user@host:5432/db) in it (sources.pos_database.url_env)"
        )
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in ("postgresql", "postgres"):
        raise DatabaseSourceError(
            f"{url_env}: only PostgreSQL URLs (postgresql://…) are supported, "
            f"not {scheme + '://' if scheme else 'this value'}"
        )
    # Imported here: only a run that reads the database needs the native driver.
    import adbc_driver_manager
    import adbc_driver_postgresql.dbapi

    try:
        return adbc_driver_postgresql.dbapi.connect(url)
    except adbc_driver_manager.Error as error:
        raise DatabaseSourceError(
            f"cannot connect to the POS database in {url_env}: {_reason(error, url)}"
        ) from None


def _run(connection: Any, table: DatabaseTable, sql: str, parameters: tuple = ()) -> pa.Table:
    import adbc_driver_manager

    try:
        with closing(connection.cursor()) as cursor:
            cursor.execute(sql, parameters=parameters or None)
            return cursor.fetch_arrow_table()
    except adbc_driver_manager.Error as error:
        raise DatabaseSourceError(f"{table.described}: cannot read: {_reason(error)}") from None


def read_failure(table: DatabaseTable, error: Exception) -> DatabaseSourceError:
    """A read that broke off while its rows were streaming (the connection lost, …)."""
    return DatabaseSourceError(f"{table.described}: reading stopped: {_reason(error)}")


def _find(names: list[str], wanted: str) -> str | None:
    """The database's name for `wanted`: exactly, else ignoring case (PostgreSQL folds case)."""
    if wanted in names:
        return wanted
    folded = {n.casefold(): n for n in names}
    return folded.get(wanted.casefold())


def _resolve_columns(table: DatabaseTable, schema: pa.Schema) -> dict[str, str]:
    """Canonical column → the database's column; refuse a missing required or mapped one."""
    names = list(schema.names)
    found: dict[str, str] = {}
    for column in table.source.columns:
        wanted = table.columns.get(column.name, column.name)
        name = _find(names, wanted)
        if name is not None:
            found[column.name] = name
        elif column.required or column.name in table.columns:
            raise DatabaseSourceError(
                f"{table.described}: no column {wanted} (for {column.name}); "
                f"it has: {', '.join(names[:15]) or 'no columns'}"
            )
    for key, wanted in (
        ("updated_at_column", table.updated_at_column),
        ("deleted_column", table.deleted_column),
    ):
        if wanted is not None and _find(names, wanted) is None:
            raise DatabaseSourceError(
                f"{table.config_key}.{key}: no column {wanted} in {table.described}; "
                f"it has: {', '.join(names[:15]) or 'no columns'}"
            )
    return found


def _plain(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """PostgreSQL numeric arrives as an opaque extension type over its exact decimal text."""
    if not any(isinstance(f.type, pa.BaseExtensionType) for f in reader.schema):
        return reader
    schema = pa.schema(
        f.with_type(f.type.storage_type) if isinstance(f.type, pa.BaseExtensionType) else f
        for f in reader.schema
    )

    def batches() -> Iterator[pa.RecordBatch]:
        for batch in reader:
            columns = [
                c.storage if isinstance(c.type, pa.BaseExtensionType) else c for c in batch.columns
            ]
            yield pa.RecordBatch.from_arrays(columns, schema=schema)

    return pa.RecordBatchReader.from_batches(schema, batches())


def _bound(value: datetime | None, is_utc: bool) -> str:
    """A watermark as the text PostgreSQL casts to the column's own type."""
    if value is None:
        return "-infinity"
    if is_utc:
        return value.replace(tzinfo=UTC).isoformat()
    return value.isoformat()


def watermark_value(value: datetime | None, is_utc: bool) -> datetime | None:
    """A read `updated_at` as a watermark: naive, in UTC for a timestamptz column."""
    if value is not None and is_utc:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


@contextmanager
def read_changes(
    connection: Any, table: DatabaseTable, since: datetime | None, until: datetime
) -> Iterator[Changes]:
    """Rows with `since` < updated_at < `until` (every row up to `until` when `since` is None).

    `since` is naive (UTC for a timestamptz column, else the column's own time); `until` carries
    its time zone, and is compared in local time with a timestamp-without-time-zone column.
    """
    import adbc_driver_manager

    schema = _run(connection, table, f"select * from {table.relation} limit 0").schema
    columns = _resolve_columns(table, schema)
    updated_at = _find(schema.names, table.updated_at_column)
    updated_type = schema.field(updated_at).type
    if not pa.types.is_timestamp(updated_type):
        raise DatabaseSourceError(
            f"{table.config_key}.updated_at_column: {updated_at} is {updated_type}, not a timestamp"
        )
    is_utc = updated_type.tz is not None
    sql_type = "timestamptz" if is_utc else "timestamp"
    deleted_sql = "false"
    if table.deleted_column:
        deleted = _find(schema.names, table.deleted_column)
        # A flag is deleted when true; any other column (voided_at, …) when it holds a value.
        deleted_sql = (
            f"coalesce({quote_ident(deleted)}, false)"
            if pa.types.is_boolean(schema.field(deleted).type)
            else f"{quote_ident(deleted)} is not null"
        )
    (missing,) = (
        _run(
            connection,
            table,
            f"select count(*) as n from {table.relation} where {quote_ident(updated_at)} is null",
        )
        .column("n")
        .to_pylist()
    )
    selected = ", ".join(
        f"{quote_ident(name)} as {quote_ident(canonical)}" for canonical, name in columns.items()
    )
    until_text = until.isoformat() if is_utc else until.replace(tzinfo=None).isoformat()
    with closing(connection.cursor()) as cursor:
        try:
            cursor.execute(
                f"select {selected}, {quote_ident(updated_at)} as {UPDATED_AT}, "
                f"{deleted_sql} as {DELETED} from {table.relation} "
                f"where {quote_ident(updated_at)} > cast($1 as {sql_type}) "
                f"and {quote_ident(updated_at)} < cast($2 as {sql_type})",
                parameters=(_bound(since, is_utc), until_text),
            )
            reader = cursor.fetch_record_batch()
        except adbc_driver_manager.Error as error:
            raise DatabaseSourceError(f"{table.described}: cannot read: {_reason(error)}") from None
        yield Changes(_plain(reader), is_utc, int(missing))
