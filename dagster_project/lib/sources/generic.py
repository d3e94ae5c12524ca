"""The generic transactions source: a flat sales file with the retailer's own column names.

Unlike the day folders, such a file holds many days. A run reads the files, assigns each row to the
day of its `ordered_at`, and replaces only the days it was asked for; a row whose date cannot be
read belongs to no day, and is quarantined with its file (replaced whenever that file is read).
"""

from __future__ import annotations

import glob
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa

from dagster_project.lib.sources.csv_reader import CsvRows, read_csv_rows, sql_literal
from dagster_project.lib.sources.files import (
    SourceFileError,
    TextFile,
    file_sha256,
    read_text_file,
)
from dagster_project.lib.sources.load import (
    CHECKED_TABLE,
    FILES_TABLE,
    REJECTS_TABLE,
    TEXT_TABLE,
    IngestContext,
    LoadResult,
    append_rows,
    create_batch_tables,
    delete_days,
    insert_ingest_log,
    insert_quarantine,
    insert_raw,
    relative_name,
    summarize,
    transaction,
)
from dagster_project.lib.sources.specs import GENERIC_TRANSACTIONS
from dagster_project.lib.sources.validate import DateWindow, create_checked_table


@dataclass(frozen=True)
class GenericFileSpec:
    """Where the files are and how their columns map (from `sources.transactions`)."""

    pattern: str  # glob, absolute or relative to the landing folder
    columns: dict[str, str]  # canonical name → the file's column
    format: str | None = None  # csv | parquet; from the extension when None
    delimiter: str | None = None
    timestamp_format: str | None = None


def matching_files(spec: GenericFileSpec, landing_dir: Path) -> list[Path]:
    pattern = spec.pattern if Path(spec.pattern).is_absolute() else str(landing_dir / spec.pattern)
    return sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())


def _file_format(path: Path, spec: GenericFileSpec) -> str:
    if spec.format:
        return spec.format
    suffixes = [s.lower() for s in path.suffixes]
    return "parquet" if ".parquet" in suffixes or ".pq" in suffixes else "csv"


def _read_parquet(
    con: duckdb.DuckDBPyConnection, path: Path, name: str, spec: GenericFileSpec
) -> CsvRows:
    """A Parquet file's mapped columns as text, its row number (from 1) as the line."""
    try:
        available = {
            row[0]
            for row in con.execute(
                f"select name from parquet_schema({sql_literal(str(path))})"
            ).fetchall()
        }
    except duckdb.Error as error:
        raise SourceFileError(
            name, f"not a readable Parquet file ({str(error).splitlines()[0]})"
        ) from None
    missing = [f for c, f in spec.columns.items() if f not in available and c == "ordered_at"]
    if missing:
        raise SourceFileError(name, f"missing required column {missing[0]}")
    selected = ", ".join(
        f"cast({_quote(file_column)} as varchar) as {_quote(canonical)}"
        for canonical, file_column in spec.columns.items()
        if file_column in available
    )
    rows = con.sql(
        f"select file_row_number + 1 as source_line, {selected} "
        f"from read_parquet({sql_literal(str(path))}, file_row_number=true) order by source_line"
    ).to_arrow_table()
    empty_rejects = pa.schema(
        [("source_line", pa.int64()), ("raw_record", pa.string()), ("reason_detail", pa.string())]
    ).empty_table()
    return CsvRows(rows, empty_rejects)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def load_generic_transactions(
    con: duckdb.DuckDBPyConnection,
    spec: GenericFileSpec,
    start: date,
    end: date,
    ctx: IngestContext,
) -> LoadResult:
    """Load the rows of the generic files dated within [start, end], replacing those days."""
    names = [c.name for c in GENERIC_TRANSACTIONS.columns]
    create_batch_tables(con, names)
    files = matching_files(spec, ctx.landing_dir)
    file_names: list[str] = []
    for path in files:
        name = relative_name(path, ctx.landing_dir)
        file_names.append(name)
        if _file_format(path, spec) == "parquet":
            rows = _read_parquet(con, path, name, spec)
            file = TextFile(path, name, b"", file_sha256(path), "utf-8", False)
        else:
            file = read_text_file(path, name)
            rows = read_csv_rows(con, file, spec.columns, ["ordered_at"], spec.delimiter)
        append_rows(con, None, file, rows)
    # Ids exported from spreadsheets arrive as floats ("17850.0"); they name the same customer.
    con.execute(
        f"update {TEXT_TABLE} set customer_id = regexp_replace(trim(customer_id), '^(\\d+)\\.0+$', '\\1')"
    )
    window = DateWindow(
        "ordered_at", ctx.history_start.isoformat(), latest_sql="current_date + interval 1 day"
    )
    create_checked_table(
        con,
        GENERIC_TRANSACTIONS,
        TEXT_TABLE,
        CHECKED_TABLE,
        window=window,
        timestamp_format=spec.timestamp_format,
    )
    # The same export saved twice (sales.csv, sales (1).csv) would count its sales twice: the rows
    # of a later copy are duplicates of the first copy's.
    con.execute(
        f"""update {CHECKED_TABLE} as c set
            reason_code = 'duplicate_row',
            reason_detail = 'the file has the same content as ' || f.first_copy
        from (
            select source_file,
                first_value(source_file) over (partition by file_sha256 order by source_file)
                    as first_copy
            from {FILES_TABLE}
        ) as f
        where c.reason_code is null and c.source_file = f.source_file
            and f.first_copy <> f.source_file"""
    )
    # A file with no record at all (empty, a header only) has no day; it is logged without one.
    con.execute(
        f"""create or replace temp table file_sums as
        select f.*, f.source_file not in (
            select source_file from {CHECKED_TABLE}
            union all select source_file from {REJECTS_TABLE}
        ) as is_empty
        from {FILES_TABLE} as f"""
    )
    # A row belongs to the day it was ordered; rows of other days are other runs' business.
    con.execute(
        f"""update {CHECKED_TABLE} set partition_date = case
            when reason_code = 'date_out_of_range' then null
            else cast(ordered_at as date) end"""
    )
    con.execute(
        f"delete from {CHECKED_TABLE} where partition_date is not null "
        "and partition_date not between ? and ?",
        [start, end],
    )
    con.execute(
        f"""delete from {FILES_TABLE};
        insert into {FILES_TABLE}
        select distinct c.partition_date, c.source_file, f.file_sha256
        from (
            select partition_date, source_file from {CHECKED_TABLE}
            union all select partition_date, source_file from {REJECTS_TABLE}
        ) as c
        join file_sums as f using (source_file)
        union all
        select null, source_file, file_sha256 from file_sums where is_empty"""
    )
    raw, quarantine = "raw.transactions", "quarantine.transactions"
    with transaction(con):
        delete_days(con, "transactions", (raw, quarantine), start, end, undated_files=file_names)
        insert_raw(con, GENERIC_TRANSACTIONS, CHECKED_TABLE, ctx)
        insert_quarantine(con, "transactions", CHECKED_TABLE)
        insert_ingest_log(
            con, "transactions", raw, quarantine, start, end, undated_files=file_names
        )
    return summarize(con, "transactions", quarantine, start, end, undated_files=file_names)


def date_span(
    con: duckdb.DuckDBPyConnection, spec: GenericFileSpec, landing_dir: Path
) -> tuple[date, date] | None:
    """First and last order day in the files (for a run with no dates given), or None."""
    days: list[date] = []
    for path in matching_files(spec, landing_dir):
        name = relative_name(path, landing_dir)
        if _file_format(path, spec) == "parquet":
            rows = _read_parquet(con, path, name, spec).rows
        else:
            rows = read_csv_rows(
                con, read_text_file(path, name), spec.columns, ["ordered_at"], spec.delimiter
            ).rows
        con.register("ordered_at_values", rows.select(["ordered_at"]))
        parse = (
            f"try_strptime(trim(ordered_at), {sql_literal(spec.timestamp_format)})"
            if spec.timestamp_format
            else "try_cast(trim(ordered_at) as timestamp)"
        )
        low, high = con.execute(
            f"select min(cast({parse} as date)), max(cast({parse} as date)) from ordered_at_values"
        ).fetchone()
        days += [d for d in (low, high) if d is not None]
    return (min(days), max(days)) if days else None
