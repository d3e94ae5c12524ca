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

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.lib.sources.files import SourceFileError, TextFile

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


def read_csv_rows(
    con: duckdb.DuckDBPyConnection,
    file: TextFile,
    wanted: Mapping[str, HeaderNames],
    required: Sequence[str],
    delimiter: str | None = None,
) -> CsvRows:
    """Read `file`, keeping the columns in `wanted` (canonical name → its name in the file's
    header, or the names it is known by)."""
    body = file.data[3:] if file.has_bom else file.data
    # Nothing but a byte-order mark is how a spreadsheet saves an empty sheet: an empty file.
    if not body.strip():
        return CsvRows(_empty_rows(wanted), REJECT_SCHEMA.empty_table())
    head = body[:65536].decode(file.encoding, errors="replace")
    header_line = _first_line(head)
    delimiter = delimiter or detect_delimiter(header_line)
    header = next(csv.reader([header_line], delimiter=delimiter))
    positions = _match_columns(file, header, wanted, required, delimiter)
    result = _read_with_duckdb(con, file, len(header), positions, delimiter)
    if result is None:
        result = _read_with_python(file, len(header), positions, delimiter)
    return result


def _empty_rows(wanted: Mapping[str, HeaderNames]) -> pa.Table:
    fields = [("source_line", pa.int64())] + [(c, pa.string()) for c in wanted]
    return pa.schema(fields).empty_table()


def _physical_lines(data: bytes) -> int:
    return data.count(b"\n") + (0 if data.endswith(b"\n") else 1)


def _has_blank_lines(data: bytes) -> bool:
    body = data.rstrip(b"\r\n")
    return b"\n\n" in body or b"\n\r\n" in body


def _read_with_duckdb(
    con: duckdb.DuckDBPyConnection,
    file: TextFile,
    header_width: int,
    positions: dict[str, int],
    delimiter: str,
) -> CsvRows | None:
    """The fast path; None when the file needs the exact reader."""
    if file.encoding != "utf-8" or _has_blank_lines(file.data) or b"\n" not in file.data:
        return None
    # Our own column names: a header may hold empty or repeated names.
    names = [f"c{i}" for i in range(header_width)]
    columns = "{" + ", ".join(f"'{n}': 'VARCHAR'" for n in names) + "}"
    con.execute(f"drop table if exists {_REJECT_TABLE}")
    con.execute(f"drop table if exists {_REJECT_SCAN}")
    con.execute(
        f"""create or replace temp table csv_file as
        select * from read_csv({sql_literal(str(file.path))}, delim={sql_literal(delimiter)},
            quote='"', escape='"', header=true, auto_detect=false, columns={columns},
            store_rejects=true, rejects_table='{_REJECT_TABLE}', rejects_scan='{_REJECT_SCAN}')"""
    )
    selected = ", ".join(f"c{i}" for i in positions.values())
    any_newline = " or ".join(
        f"coalesce(contains(c{i}, chr(10)), false)" for i in range(header_width)
    )
    good, quoted_newlines = con.execute(
        f"select count(*), coalesce(bool_or({any_newline}), false) from csv_file"
    ).fetchone()
    rejects = con.execute(
        f"select line, csv_line, error_message from {_REJECT_TABLE} order by line"
    ).fetchall()
    lines = _physical_lines(file.data)
    if quoted_newlines or good + len(rejects) != lines - 1:
        return None
    rejected_lines = np.array([r[0] for r in rejects], dtype=np.int64)
    good_lines = np.setdiff1d(np.arange(2, lines + 1, dtype=np.int64), rejected_lines)
    if len(good_lines) != good:
        return None
    table = con.sql(f"select {selected} from csv_file order by rowid").to_arrow_table()
    table = table.rename_columns(list(positions))
    table = table.add_column(0, "source_line", pa.array(good_lines))
    reject_table = pa.table(
        {
            "source_line": pa.array([r[0] for r in rejects], pa.int64()),
            "raw_record": pa.array([r[1] for r in rejects], pa.string()),
            "reason_detail": pa.array([_reject_detail(r[2]) for r in rejects], pa.string()),
        }
    )
    return CsvRows(table, reject_table)


def _reject_detail(message: str) -> str:
    return message.split("\n", 1)[0].strip()


def _read_with_python(
    file: TextFile, header_width: int, positions: dict[str, int], delimiter: str
) -> CsvRows:
    """The exact path: physical line numbers for every record, whatever the file holds."""
    # Lines end at \n, \r\n or \r only: str.splitlines would also break a record at a U+2028 or
    # form feed inside a name.
    lines = io.StringIO(file.text(), newline="").readlines()
    reader = csv.reader(lines, delimiter=delimiter, quotechar='"', strict=True)
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
        if len(record) != header_width:
            raw = "".join(lines[start - 1 : reader.line_num]).rstrip("\r\n")
            rejects.append((start, raw, f"expected {header_width} columns, found {len(record)}"))
            continue
        good_lines.append(start)
        good_records.append(record)
    columns = {"source_line": pa.array(good_lines, pa.int64())}
    for canonical, index in positions.items():
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
