"""Reading a delivered CSV file into text columns, accounting for every record.

Two paths give the same result. DuckDB's reader is fast and handles the usual file: UTF-8, no
blank lines, no newlines inside quoted fields. Its record numbers are then the physical lines, so
each row gets its line, and every line is accounted for as a row or a rejected record. Any file
where that accounting does not close (a Windows-1252 file, blank lines, quoted newlines, an
unterminated quote that swallows the rest of the file) is re-read with Python's csv module, which
tracks physical lines exactly. Either way no record is silently dropped.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.lib.sources.files import SourceFileError, TextFile
from dagster_project.lib.warehouse import quote_ident

DELIMITERS = (",", ";", "\t", "|")
_REJECT_TABLE = "csv_rejects"
_REJECT_SCAN = "csv_reject_scans"


@dataclass(frozen=True)
class CsvRows:
    """Records of one file: good ones as text columns, malformed ones with their raw text."""

    rows: pa.Table  # source_line, then one string column per canonical name
    rejects: pa.Table  # source_line, raw_record, reason_detail


REJECT_SCHEMA = pa.schema(
    [("source_line", pa.int64()), ("raw_record", pa.string()), ("reason_detail", pa.string())]
)


def sql_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _first_line(text_start: str) -> str:
    return text_start.split("\n", 1)[0].rstrip("\r")


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in DELIMITERS}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


# A canonical column's name in the file's header, or the names it is known by, first one first.
HeaderNames = str | Sequence[str]


def _names(file_column: HeaderNames) -> Sequence[str]:
    return (file_column,) if isinstance(file_column, str) else file_column


def _match_columns(
    file: TextFile,
    header: list[str],
    wanted: Mapping[str, HeaderNames],
    required: Sequence[str],
    delimiter: str,
) -> dict[str, int]:
    """Canonical column → its index in the file; refuse the file when a required one is absent."""
    positions: dict[str, int] = {}
    exact = {name.strip(): i for i, name in enumerate(header)}
    folded = {name.strip().casefold(): i for i, name in enumerate(header)}
    for canonical, file_column in wanted.items():
        for name in _names(file_column):
            index = exact.get(name.strip(), folded.get(name.strip().casefold()))
            if index is not None:
                positions[canonical] = index
                break
    missing = [_names(wanted[c])[0] for c in required if c not in positions]
    if missing:
        found = ", ".join(h.strip() for h in header[:12]) or "nothing"
        hint = ""
        if len(header) == 1 and any(d in header[0] for d in DELIMITERS if d != delimiter):
            hint = " (is the delimiter right?)"
        raise SourceFileError(
            file.name,
            f"missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}; the header has: {found}{hint}",
        )
    return positions


@dataclass(frozen=True)
class CsvLayout:
    """How a file's records are read: its delimiter, its header's width, and the index of each
    wanted column in it (canonical name → index)."""

    delimiter: str
    header_width: int
    positions: Mapping[str, int]

    @property
    def key(self) -> tuple:
        """Files with the same key can be read by one scan."""
        return (self.delimiter, self.header_width, tuple(self.positions.items()))


def csv_layout(
    file: TextFile,
    wanted: Mapping[str, HeaderNames],
    required: Sequence[str],
    delimiter: str | None = None,
) -> CsvLayout | None:
    """The layout of `file` from its header; None for an empty file (a header is not needed)."""
    body = file.data[3:] if file.has_bom else file.data
    # Nothing but a byte-order mark is how a spreadsheet saves an empty sheet: an empty file.
    if not body.strip():
        return None
    head = body[:65536].decode(file.encoding, errors="replace")
    header_line = _first_line(head)
    delimiter = delimiter or detect_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    positions = _match_columns(file, header, wanted, required, delimiter)
    return CsvLayout(delimiter, len(header), positions)


def read_csv_rows(
    con: duckdb.DuckDBPyConnection,
    file: TextFile,
    wanted: Mapping[str, HeaderNames],
    required: Sequence[str],
    delimiter: str | None = None,
) -> CsvRows:
    """Read `file`, keeping the columns in `wanted` (canonical name → its name in the file's
    header, or the names it is known by)."""
    layout = csv_layout(file, wanted, required, delimiter)
    if layout is None:
        return CsvRows(_empty_rows(wanted), REJECT_SCHEMA.empty_table())
    result = _read_with_duckdb(con, file, layout) if fits_duckdb_reader(file) else None
    if result is None:
        result = _read_with_python(file, layout)
    return result


def fits_duckdb_reader(file: TextFile) -> bool:
    """Whether DuckDB's reader can give this file's physical line numbers: UTF-8, no blank lines,
    at least one line break. (Quoted newlines and rejected records are found while reading.)"""
    return file.encoding == "utf-8" and not _has_blank_lines(file.data) and b"\n" in file.data


def _empty_rows(wanted: Mapping[str, HeaderNames]) -> pa.Table:
    fields = [("source_line", pa.int64())] + [(c, pa.string()) for c in wanted]
    return pa.schema(fields).empty_table()


def physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _has_blank_lines(data: bytes) -> bool:
    body = data.rstrip(b"\r\n")
    return b"\n\n" in body or b"\n\r\n" in body


def _read_options(delimiter: str, header_width: int) -> str:
    """read_csv's options for our files: every column as text under our own names (a header may
    hold empty or repeated names), rejected records kept for accounting."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(header_width)) + "}"
    return (
        f"delim={sql_literal(delimiter)}, quote='\"', escape='\"', header=true, "
        f"auto_detect=false, columns={columns}, store_rejects=true, "
        f"rejects_table='{_REJECT_TABLE}', rejects_scan='{_REJECT_SCAN}'"
    )


def _any_newline(header_width: int) -> str:
    return " or ".join(f"coalesce(contains(c{i}, chr(10)), false)" for i in range(header_width))


def _read_with_duckdb(
    con: duckdb.DuckDBPyConnection, file: TextFile, layout: CsvLayout
) -> CsvRows | None:
    """The fast path; None when the file needs the exact reader."""
    con.execute(f"drop table if exists {_REJECT_TABLE}")
    con.execute(f"drop table if exists {_REJECT_SCAN}")
    con.execute(
        f"""create or replace temp table csv_file as
        select * from read_csv({sql_literal(str(file.path))},
            {_read_options(layout.delimiter, layout.header_width)})"""
    )
    selected = ", ".join(f"c{i}" for i in layout.positions.values())
    good, quoted_newlines = con.execute(
        f"select count(*), coalesce(bool_or({_any_newline(layout.header_width)}), false) "
        "from csv_file"
    ).fetchone()
    rejects = con.execute(
        f"select line, csv_line, error_message from {_REJECT_TABLE} order by line"
    ).fetchall()
    lines = physical_lines(file.data)
    if quoted_newlines or good + len(rejects) != lines - 1:
        return None
    rejected_lines = np.array([r[0] for r in rejects], dtype=np.int64)
    good_lines = np.setdiff1d(np.arange(2, lines + 1, dtype=np.int64), rejected_lines)
    if len(good_lines) != good:
        return None
    table = con.sql(f"select {selected} from csv_file order by rowid").to_arrow_table()
    table = table.rename_columns(list(layout.positions))
    table = table.add_column(0, "source_line", pa.array(good_lines))
    reject_table = pa.table(
        {
            "source_line": pa.array([r[0] for r in rejects], pa.int64()),
            "raw_record": pa.array([r[1] for r in rejects], pa.string()),
            "reason_detail": pa.array([_reject_detail(r[2]) for r in rejects], pa.string()),
        }
    )
    return CsvRows(table, reject_table)


SCAN_TABLE = "csv_scan"
_SCAN_KEPT = "csv_scan_kept"


def scan_csv_files(
    con: duckdb.DuckDBPyConnection,
    paths: Sequence[Path],
    line_counts: Sequence[int],
    layout: CsvLayout,
) -> set[int]:
    """Read files of one layout with a single DuckDB scan; `scanned_rows` then gives the rows of
    the files kept, and `end_scan` drops them. `line_counts` are the files' physical lines
    (`physical_lines`), which the rows must account for.

    One scan instead of one per file: DuckDB parses the files in parallel, and the per-file cost
    of a query (about 15 ms, which a day's files of every source paid 731 times for two years)
    is paid once. Only clean files are kept, those where every record is a row on its own line:
    a file with a rejected record, a newline inside quotes, or rows that do not account for its
    lines is left out. Returns the indices (positions in `paths`) of the files kept; the others
    are for `read_csv_rows`, which gives their exact line numbers and rejected records.
    """
    con.execute(f"drop table if exists {_REJECT_TABLE}")
    con.execute(f"drop table if exists {_REJECT_SCAN}")
    listed = "[" + ", ".join(sql_literal(str(path)) for path in paths) + "]"
    con.execute(
        f"""create or replace temp table {SCAN_TABLE} as
        select file_index, * from read_csv({listed},
            {_read_options(layout.delimiter, layout.header_width)})"""
    )
    # Rows are stored in the order they were read (DuckDB preserves insertion order): a file's
    # rows are one run of row ids, and a row's line is its place in that run after the header.
    counted = {
        index: (rows, newline, first, last)
        for index, rows, newline, first, last in con.execute(
            f"select file_index, count(*), bool_or({_any_newline(layout.header_width)}), "
            f"min(rowid), max(rowid) from {SCAN_TABLE} group by all"
        ).fetchall()
    }
    rejected = {
        index
        for (index,) in con.execute(f"select distinct file_id from {_REJECT_TABLE}").fetchall()
    }
    first_rows = {}
    for index, lines in enumerate(line_counts):
        rows, newline, first, last = counted.get(index, (0, False, 0, -1))
        if index in rejected or newline or rows != lines - 1 or last - first + 1 != rows:
            continue
        first_rows[index] = first
    con.register(
        _SCAN_KEPT,
        pa.table(
            {
                "file_index": pa.array(list(first_rows), pa.int64()),
                "first_row": pa.array(list(first_rows.values()), pa.int64()),
            }
        ),
    )
    return set(first_rows)


def scanned_rows(layout: CsvLayout) -> str:
    """The query of the kept files' rows: file_index, source_line, one column per wanted one."""
    selected = ", ".join(f"s.c{i} as {quote_ident(name)}" for name, i in layout.positions.items())
    return (
        f"select s.file_index, s.rowid - k.first_row + 2 as source_line, {selected} "
        f"from {SCAN_TABLE} as s join {_SCAN_KEPT} as k using (file_index)"
    )


def end_scan(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"drop table if exists {SCAN_TABLE}")
    con.unregister(_SCAN_KEPT)


def _reject_detail(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def _read_with_python(file: TextFile, layout: CsvLayout) -> CsvRows:
    """The exact path: physical line numbers for every record, whatever the file holds."""
    # Lines end at \n, \r\n or \r only: str.splitlines would also break a record at a U+2028 or
    # form feed inside a name.
    lines = io.StringIO(file.text(), newline="").readlines()
    reader = csv.reader(lines, delimiter=layout.delimiter, quotechar='"', strict=True)
    next(reader, None)  # header
    good_lines: list[int] = []
    good_records: list[list[str]] = []
    rejects: list[tuple[int, str, str]] = []
    while True:
        start = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raw = "".join(lines[start - 1 : reader.line_num]).rstrip("\r\n")
            rejects.append((start, raw, f"unreadable record: {error}"))
            continue
        # A record may start after blank lines, which are not records.
        while start <= len(lines) and not lines[start - 1].strip("\r\n"):
            start += 1
        if not record:
            continue
        if len(record) != layout.header_width:
            raw = "".join(lines[start - 1 : reader.line_num]).rstrip("\r\n")
            found = f"expected {layout.header_width} columns, found {len(record)}"
            rejects.append((start, raw, found))
            continue
        good_lines.append(start)
        good_records.append(record)
    columns = {"source_line": pa.array(good_lines, pa.int64())}
    for canonical, index in layout.positions.items():
        values = [r[index] if r[index] != "" else None for r in good_records]
        columns[canonical] = pa.array(values, pa.string())
    reject_table = pa.table(
        {
            "source_line": pa.array([r[0] for r in rejects], pa.int64()),
            "raw_record": pa.array([r[1] for r in rejects], pa.string()),
            "reason_detail": pa.array([r[2] for r in rejects], pa.string()),
        }
    )
    return CsvRows(pa.table(columns), reject_table)
