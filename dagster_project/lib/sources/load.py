"""Loading a source's days into `raw.*`, `quarantine.*` and `ops.ingest_log`, replacing those days.

Every loader follows the same shape: collect the delivered files of the days as text rows (plus
records that do not even parse), check them (`validate`), then in one transaction delete what
those days loaded before and write the new rows. A run of the same days therefore leaves the same
tables, and a file refused half way leaves nothing of its days behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.lib import contacts, privacy
from dagster_project.lib.sources.csv_reader import (
    CsvLayout,
    CsvRows,
    csv_layout,
    end_scan,
    fits_duckdb_reader,
    physical_lines,
    read_csv_rows,
    scan_csv_files,
    scanned_rows,
)
from dagster_project.lib.sources.files import TextFile, day_files, read_text_file
from dagster_project.lib.sources.specs import CAMPAIGN_EVENTS, DerivedColumn, Source
from dagster_project.lib.sources.validate import DateWindow, create_checked_table
from dagster_project.lib.warehouse import quote_ident

TEXT_TABLE = "text_batch"
REJECTS_TABLE = "rejects_batch"
FILES_TABLE = "file_batch"
CHECKED_TABLE = "checked_batch"


@dataclass(frozen=True)
class IngestContext:
    """What every loader needs besides the data: where files are, keys, the history window."""

    landing_dir: Path
    pseudonym_key: str
    default_region: str = "ES"
    history_start: date = date(2015, 1, 1)
    # The retailer's time zone: the day of a database row's change is its local day.
    timezone: str = "Europe/Madrid"


@dataclass
class LoadResult:
    """What a load did, for asset metadata (counts only: never a value from a row)."""

    source: str
    files: int = 0
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    # What a source adds for its metadata (the database source: days touched, watermark).
    details: dict[str, object] = field(default_factory=dict)


def relative_name(path: Path, landing_dir: Path) -> str:
    """A file's name in lineage columns: relative to the landing folder when inside it."""
    try:
        return path.resolve().relative_to(landing_dir.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.begin()
    try:
        yield
    except BaseException:
        con.rollback()
        raise
    con.commit()


def create_batch_tables(con: duckdb.DuckDBPyConnection, text_columns: Sequence[str]) -> None:
    columns = ", ".join(f"{quote_ident(c)} varchar" for c in text_columns)
    con.execute(
        f"create or replace temp table {TEXT_TABLE} "
        f"(partition_date date, source_file varchar, source_line bigint, {columns})"
    )
    con.execute(
        f"create or replace temp table {REJECTS_TABLE} (partition_date date, source_file varchar,"
        " source_line bigint, raw_record varchar, reason_detail varchar)"
    )
    con.execute(
        f"create or replace temp table {FILES_TABLE} "
        "(partition_date date, source_file varchar, file_sha256 varchar)"
    )


def append_rows(
    con: duckdb.DuckDBPyConnection, day: date | None, file: TextFile, rows: CsvRows
) -> None:
    """Add one file's text rows and unreadable records to the batch."""
    con.execute(f"insert into {FILES_TABLE} values (?, ?, ?)", [day, file.name, file.sha256])
    con.register("file_rows", rows.rows)
    con.register("file_rejects", rows.rejects)
    con.execute(
        f"insert into {TEXT_TABLE} by name "
        "select cast(? as date) as partition_date, ? as source_file, * from file_rows",
        [day, file.name],
    )
    con.execute(
        f"insert into {REJECTS_TABLE} by name "
        "select cast(? as date) as partition_date, ? as source_file, * from file_rejects",
        [day, file.name],
    )
    con.unregister("file_rows")
    con.unregister("file_rejects")


# Files per scan: two years of one daily file fit in one; a chain delivering a file per store per
# day is read a thousand files at a time (a bounded query, and rows handed over as they come).
SCAN_FILES = 1000


@dataclass
class _ScanGroup:
    """Clean files sharing one layout, for one scan; their bytes are not kept."""

    layout: CsvLayout
    days: list[date | None] = field(default_factory=list)
    files: list[TextFile] = field(default_factory=list)
    line_counts: list[int] = field(default_factory=list)


def collect_csv_days(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    source_dir: Path | None,
    days: Sequence[date],
    ctx: IngestContext,
) -> None:
    """Read every delivered file of `days` into the batch tables.

    Clean UTF-8 files with the same header are read by one DuckDB scan (`scan_csv_files`); the
    rest, and any file that scan cannot account for line by line, one at a time
    (`read_csv_rows`). Both give the same rows, lines and rejected records.
    """
    create_batch_tables(con, [c.name for c in source.columns])
    if source_dir is None:
        return
    wanted = {c.name: c.header_names for c in source.columns}
    groups: dict[tuple, _ScanGroup] = {}
    for day in days:
        for path in day_files(source_dir, day, source.file_glob):
            file = read_text_file(path, relative_name(path, ctx.landing_dir))
            layout = csv_layout(file, wanted, source.required_columns)
            if layout is None or not fits_duckdb_reader(file):
                append_rows(
                    con, day, file, read_csv_rows(con, file, wanted, source.required_columns)
                )
                continue
            key = (layout.key, file.is_compressed)
            group = groups.setdefault(key, _ScanGroup(layout))
            group.days.append(day)
            # The bytes go: a source's two years would otherwise sit in memory until the scan.
            group.files.append(replace(file, data=b""))
            group.line_counts.append(physical_lines(file.data))
            if len(group.files) == SCAN_FILES:
                _scan_group(con, groups.pop(key), wanted, source.required_columns)
    for group in groups.values():
        _scan_group(con, group, wanted, source.required_columns)


def _scan_group(
    con: duckdb.DuckDBPyConnection, group: _ScanGroup, wanted: dict, required: Sequence[str]
) -> None:
    kept = scan_csv_files(con, [f.path for f in group.files], group.line_counts, group.layout)
    listed = pa.table(
        {
            "file_index": pa.array(range(len(group.files)), pa.int64()),
            "partition_date": pa.array(group.days, pa.date32()),
            "source_file": pa.array([f.name for f in group.files], pa.string()),
            "file_sha256": pa.array([f.sha256 for f in group.files], pa.string()),
        }
    )
    con.register("scanned_files", listed)
    con.execute(
        f"insert into {FILES_TABLE} select partition_date, source_file, file_sha256 "
        "from scanned_files where file_index in (select unnest(?::bigint[]))",
        [sorted(kept)],
    )
    con.execute(
        f"insert into {TEXT_TABLE} by name select f.partition_date, f.source_file, "
        f"s.* exclude (file_index) from ({scanned_rows(group.layout)}) as s "
        "join scanned_files as f using (file_index)"
    )
    con.unregister("scanned_files")
    end_scan(con)
    for index, (day, file) in enumerate(zip(group.days, group.files, strict=True)):
        if index not in kept:
            file = read_text_file(file.path, file.name)
            append_rows(con, day, file, read_csv_rows(con, file, wanted, required))


class ContactForms:
    """Normal forms of the addresses and phone numbers of one load, each worked out once.

    A source's e-mail feeds three derived columns (normal form, validity, keyed hash) and its
    phone two; parsing is the costly part of ingest (a library call per distinct value), so each
    distinct value is parsed once per load, not once per column.
    """

    def __init__(self, default_region: str) -> None:
        self.default_region = default_region
        self._emails: dict[str, str | None] = {}
        self._phones: dict[str, str | None] = {}

    def emails(self, values: list[str]) -> dict[str, str | None]:
        return _parsed_once(self._emails, contacts.normalize_emails, values)

    def phones(self, values: list[str]) -> dict[str, str | None]:
        return _parsed_once(
            self._phones, lambda new: contacts.phones_e164(new, self.default_region), values
        )


def _parsed_once(
    known: dict[str, str | None],
    parse: Callable[[list[str]], dict[str, str | None]],
    values: list[str],
) -> dict[str, str | None]:
    """`parse` of each value, calling it only for the values not in `known` (which it extends)."""
    known.update(parse([v for v in values if v not in known]))
    return {v: known[v] for v in values}


def _keyed_normal_forms(
    normal_forms: dict[str, str | None], ctx: IngestContext, derived: DerivedColumn
) -> dict[str, str | None]:
    """Each delivered value's keyed hash of its normal form (None where there is none)."""
    keys = privacy.keyed_hashes(normal_forms.values(), ctx.pseudonym_key, derived.namespace)
    return {value: keys.get(normal) for value, normal in normal_forms.items()}


def _derivation(
    derived: DerivedColumn, ctx: IngestContext, forms: ContactForms
) -> Callable[[list[str]], dict]:
    if derived.derivation == "keyed_hash":
        return lambda values: privacy.keyed_hashes(values, ctx.pseudonym_key, derived.namespace)
    if derived.derivation == "email_normalized":
        return forms.emails
    if derived.derivation == "email_is_valid":
        return lambda values: {k: v is not None for k, v in forms.emails(values).items()}
    if derived.derivation == "phone_e164":
        return forms.phones
    if derived.derivation == "email_key":
        return lambda values: _keyed_normal_forms(forms.emails(values), ctx, derived)
    if derived.derivation == "campaign_event":
        return lambda values: {v: CAMPAIGN_EVENTS.get(v.strip().lower()) for v in values}
    if derived.derivation == "phone_key":
        return lambda values: _keyed_normal_forms(forms.phones(values), ctx, derived)
    raise ValueError(f"unknown derivation {derived.derivation}")


def _register_derivation(
    con: duckdb.DuckDBPyConnection,
    view: str,
    derived: DerivedColumn,
    ctx: IngestContext,
    relation: str,
    where: str,
    forms: ContactForms,
) -> None:
    """Register `view` (k, v): each distinct value of the derived column's input in `relation`
    (alias `c`, rows filtered by `where`) and the derived value."""
    column = quote_ident(derived.from_column)
    values = con.execute(
        f"select distinct c.{column} from {relation} where ({where}) and c.{column} is not null"
    ).fetchall()
    mapping = _derivation(derived, ctx, forms)([str(value) for (value,) in values])
    table = pa.table(
        {
            "k": pa.array(list(mapping.keys()), pa.string()),
            "v": pa.array(list(mapping.values())),
        }
    )
    con.register(view, table)


def add_missing_derived_columns(
    con: duckdb.DuckDBPyConnection, sources: Sequence[Source], ctx: IngestContext
) -> list[str]:
    """Add the derived columns a newer version defines to raw tables made by an older one, and
    fill them from the delivered columns already there; returns `table.column` of each added.

    So an upgrade needs no reload: the keyed contact hashes, say, appear for every row loaded
    before them, as they would have been computed at ingest.
    """
    added = []
    forms = ContactForms(ctx.default_region)
    for source in sources:
        present = {
            name
            for (name,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw' and table_name = ?",
                [source.name],
            ).fetchall()
        }
        for derived in source.derived:
            if not present or derived.name in present:
                continue
            name = quote_ident(derived.name)
            con.execute(f"alter table raw.{source.name} add column {name} {derived.type}")
            _register_derivation(
                con, "derived_fill", derived, ctx, f"raw.{source.name} as c", "true", forms
            )
            con.execute(
                f"update raw.{source.name} as c set {name} = cast(f.v as {derived.type}) "
                f"from derived_fill as f where f.k = cast(c.{quote_ident(derived.from_column)} "
                "as varchar)"
            )
            con.unregister("derived_fill")
            added.append(f"{source.name}.{derived.name}")
    return added


def insert_raw(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    checked_table: str,
    ctx: IngestContext,
    where: str = "c.reason_code is null",
) -> None:
    """Write the loadable rows of `checked_table` (alias `c` in `where`) to `raw.<source>`.

    A derived column is computed once per distinct input value (in Python, by the libraries that
    know emails, phone numbers and HMAC) and joined back.
    """
    forms = ContactForms(ctx.default_region)
    joins = []
    selected = ["c.partition_date", "c.source_file", "c.source_line"]
    selected += [f"c.{quote_ident(col.name)}" for col in source.columns]
    for i, derived in enumerate(source.derived):
        view = f"derived_{i}"
        _register_derivation(con, view, derived, ctx, f"{checked_table} as c", where, forms)
        joins.append(
            f"left join {view} on {view}.k = cast(c.{quote_ident(derived.from_column)} as varchar)"
        )
        selected.append(f"cast({view}.v as {derived.type}) as {quote_ident(derived.name)}")
    con.execute(
        f"insert into raw.{source.name} by name select {', '.join(selected)} "
        f"from {checked_table} as c {' '.join(joins)} where {where} "
        "order by c.partition_date, c.source_file, c.source_line"
    )
    for i in range(len(source.derived)):
        con.unregister(f"derived_{i}")


def insert_quarantine(
    con: duckdb.DuckDBPyConnection, quarantine_name: str, checked_table: str, where: str = "true"
) -> None:
    """Write the rejected rows and the unreadable records of the batch to quarantine."""
    con.execute(
        f"""insert into quarantine.{quarantine_name}
        select partition_date, source_file, source_line, reason_code, reason_detail, raw_record
        from {checked_table} where reason_code is not null and ({where})
        union all
        select partition_date, source_file, source_line, 'malformed_record', reason_detail,
            raw_record
        from {REJECTS_TABLE} where {where}
        order by partition_date, source_file, source_line"""
    )


def delete_days(
    con: duckdb.DuckDBPyConnection,
    log_source: str,
    tables: Sequence[str],
    start: date,
    end: date,
    undated_files: Sequence[str] = (),
) -> None:
    """Remove what the days [start, end] loaded before (and undated rows of the given files)."""
    condition = "partition_date between ? and ?"
    params: list = [start, end]
    if undated_files:
        condition = f"({condition}) or (partition_date is null and source_file in ?)"
        params.append(list(undated_files))
    for table in tables:
        con.execute(f"delete from {table} where {condition}", params)
    con.execute(
        f"delete from ops.ingest_log where source = ? and ({condition})", [log_source, *params]
    )


def insert_ingest_log(
    con: duckdb.DuckDBPyConnection,
    log_source: str,
    raw_table: str,
    quarantine_table: str,
    start: date,
    end: date,
    undated_files: Sequence[str] = (),
) -> None:
    """One row per delivered file and day: rows read = rows loaded + rows quarantined."""
    scope = "partition_date between ? and ?"
    params: list = [start, end]
    if undated_files:
        scope = f"({scope}) or (partition_date is null and source_file in ?)"
        params.append(list(undated_files))
    con.execute(
        f"""insert into ops.ingest_log
        with loaded as (
            select partition_date, source_file, count(*) as n from {raw_table}
            where {scope} group by all
        ),
        quarantined as (
            select partition_date, source_file, count(*) as n from {quarantine_table}
            where {scope} group by all
        )
        select ? as source, f.partition_date, f.source_file, f.file_sha256,
            coalesce(l.n, 0) + coalesce(q.n, 0) as rows_read,
            coalesce(l.n, 0) as rows_loaded,
            coalesce(q.n, 0) as rows_quarantined,
            cast(current_timestamp as timestamp) as loaded_at
        from {FILES_TABLE} as f
        left join loaded as l
            on l.source_file = f.source_file and l.partition_date is not distinct from f.partition_date
        left join quarantined as q
            on q.source_file = f.source_file and q.partition_date is not distinct from f.partition_date
        order by f.partition_date, f.source_file""",
        [*params, *params, log_source],
    )


def summarize(
    con: duckdb.DuckDBPyConnection,
    log_source: str,
    quarantine_table: str,
    start: date,
    end: date,
    undated_files: Sequence[str] = (),
) -> LoadResult:
    scope = "partition_date between ? and ?"
    params: list = [start, end]
    if undated_files:
        scope = f"({scope}) or (partition_date is null and source_file in ?)"
        params.append(list(undated_files))
    files, read, loaded, quarantined = con.execute(
        f"select count(distinct source_file), coalesce(sum(rows_read), 0), "
        f"coalesce(sum(rows_loaded), 0), coalesce(sum(rows_quarantined), 0) "
        f"from ops.ingest_log where source = ? and ({scope})",
        [log_source, *params],
    ).fetchone()
    reasons = dict(
        con.execute(
            f"select reason_code, count(*) from {quarantine_table} where {scope} "
            "group by all order by 1",
            params,
        ).fetchall()
    )
    return LoadResult(log_source, files, read, loaded, quarantined, reasons)


def event_window(source: Source, ctx: IngestContext) -> DateWindow | None:
    """Plausible dates of the source's event column: the history window up to the delivery day."""
    if source.event_column is None:
        return None
    return DateWindow(source.event_column, ctx.history_start.isoformat())


def load_csv_source(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    source_dir: Path | None,
    start: date,
    end: date,
    ctx: IngestContext,
) -> LoadResult:
    """Load the day folders [start, end] of a CSV source, replacing what they loaded before."""
    days = [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]
    collect_csv_days(con, source, source_dir, days, ctx)
    create_checked_table(con, source, TEXT_TABLE, CHECKED_TABLE, window=event_window(source, ctx))
    raw, quarantine = f"raw.{source.name}", f"quarantine.{source.name}"
    with transaction(con):
        delete_days(con, source.name, (raw, quarantine), start, end)
        insert_raw(con, source, CHECKED_TABLE, ctx)
        insert_quarantine(con, source.name, CHECKED_TABLE)
        insert_ingest_log(con, source.name, raw, quarantine, start, end)
    return summarize(con, source.name, quarantine, start, end)
