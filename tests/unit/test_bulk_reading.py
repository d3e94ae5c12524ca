"""Reading a source's days in bulk gives the batch that reading file by file gives.

`collect_csv_days` reads clean files of the same layout with one DuckDB scan and hands every other
file to `read_csv_rows`, the reader it replaces for them; Shopify's JSON lines are checked many
files at a time. The reference here is one file at a time: the batch tables (rows with their
lines, rejected records, files with their checksums) must be equal, on generated deliveries with
faults and on files made to be awkward.
"""

import gzip
import shutil
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.sources import csv_reader, shopify
from dagster_project.lib.sources.files import day_files, read_text_file
from dagster_project.lib.sources.load import (
    FILES_TABLE,
    REJECTS_TABLE,
    TEXT_TABLE,
    IngestContext,
    append_rows,
    collect_csv_days,
    create_batch_tables,
    relative_name,
)
from dagster_project.lib.sources.specs import (
    FILE_SOURCES,
    POS_MEMBERS,
    SHOPIFY_CUSTOMERS,
    SHOPIFY_ORDERS,
    Source,
)
from dagster_project.lib.synthetic import generate

START = date(2024, 1, 1)
DAYS = [START + timedelta(days=i) for i in range(45)]


def file_by_file(con, source: Source, source_dir: Path, days, ctx) -> None:
    """The reference: every file through `read_csv_rows`, one at a time."""
    create_batch_tables(con, [c.name for c in source.columns])
    wanted = {c.name: c.header_names for c in source.columns}
    for day in days:
        for path in day_files(source_dir, day, source.file_glob):
            file = read_text_file(path, relative_name(path, ctx.landing_dir))
            append_rows(
                con, day, file, csv_reader.read_csv_rows(con, file, wanted, source.required_columns)
            )


def batch(con) -> dict[str, list[tuple]]:
    return {
        table: con.execute(f"select * from {table} order by all").fetchall()
        for table in (TEXT_TABLE, REJECTS_TABLE, FILES_TABLE)
    }


def both_ways(source: Source, source_dir: Path, days, ctx) -> tuple[dict, dict]:
    scanned, reference = duckdb.connect(), duckdb.connect()
    collect_csv_days(scanned, source, source_dir, days, ctx)
    file_by_file(reference, source, source_dir, days, ctx)
    return batch(scanned), batch(reference)


@pytest.fixture(scope="module")
def landing(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("landing")
    generate(out, customers=400, start=START, end=DAYS[-1], seed=7, dirty_rate=0.05)
    return out


CSV_SOURCES = [s for s in FILE_SOURCES if s.format == "csv"]


@pytest.mark.parametrize("source", CSV_SOURCES, ids=lambda s: s.name)
def test_generated_deliveries_with_faults_read_the_same_both_ways(landing, source):
    ctx = IngestContext(landing_dir=landing, pseudonym_key="k")
    scanned, reference = both_ways(source, landing / source.landing_path, DAYS, ctx)
    assert scanned == reference
    assert reference[FILES_TABLE], f"{source.name}: the corpus delivered no file"


def test_many_files_are_scanned_a_bounded_number_at_a_time(landing, monkeypatch):
    tickets = next(s for s in CSV_SOURCES if s.name == "pos_tickets")
    ctx = IngestContext(landing_dir=landing, pseudonym_key="k")
    monkeypatch.setattr("dagster_project.lib.sources.load.SCAN_FILES", 7)
    scanned, reference = both_ways(tickets, landing / tickets.landing_path, DAYS, ctx)
    assert scanned == reference
    assert len(reference[FILES_TABLE]) > 7 * 3


def test_one_scan_reads_the_clean_files_and_leaves_the_rest_to_the_exact_reader(
    landing, monkeypatch
):
    """The scan does the work where it can, and only there (so the test above compares two
    different paths, not one path with itself)."""
    tickets = next(s for s in CSV_SOURCES if s.name == "pos_tickets")
    scanned_files: list[int] = []
    one_by_one: list[str] = []
    real_scan, real_read = csv_reader.scan_csv_files, csv_reader.read_csv_rows

    def counting_scan(con, paths, line_counts, layout):
        kept = real_scan(con, paths, line_counts, layout)
        scanned_files.append(len(kept))
        return kept

    def counting_read(con, file, *args, **kwargs):
        one_by_one.append(file.name)
        return real_read(con, file, *args, **kwargs)

    monkeypatch.setattr("dagster_project.lib.sources.load.scan_csv_files", counting_scan)
    monkeypatch.setattr("dagster_project.lib.sources.load.read_csv_rows", counting_read)
    con = duckdb.connect()
    ctx = IngestContext(landing_dir=landing, pseudonym_key="k")
    collect_csv_days(con, tickets, landing / tickets.landing_path, DAYS, ctx)
    files = con.execute(f"select count(*) from {FILES_TABLE}").fetchone()[0]
    assert len(scanned_files) == 1, "one layout, one scan"
    assert scanned_files[0] + len(one_by_one) == files
    assert scanned_files[0] > files / 2
    faulty = con.execute(f"select count(distinct source_file) from {REJECTS_TABLE}").fetchone()[0]
    assert len(one_by_one) >= faulty


def write(folder: Path, day: date, content: bytes, name: str = "members.csv") -> None:
    day_folder = folder / f"date={day.isoformat()}"
    day_folder.mkdir(parents=True, exist_ok=True)
    (day_folder / name).write_bytes(content)


def test_awkward_files_read_the_same_both_ways(tmp_path):
    """Each day a file of another kind: quoted newlines, a short record, Windows-1252, a BOM,
    blank lines, CRLF, no final newline, header only, empty, gzip, another column order and
    delimiter, a second file in a day."""
    folder = tmp_path / "pos" / "members"
    # Compressed deliveries too (the shipped sources glob *.csv; a configured one may not).
    source = replace(POS_MEMBERS, file_glob="*.csv*")
    header = ",".join(c.header_names[0] for c in source.columns)
    record = ",".join(f"v{i}" for i in range(len(POS_MEMBERS.columns)))
    clean = f"{header}\n{record}\n{record}\n".encode()
    contents = [
        clean,
        f'{header}\n{record}\n"a\nb"{record[2:]}\n'.encode(),
        f"{header}\n{record}\nshort,row\n{record}\n".encode(),
        f"{header}\n{record}ñ€\n".encode("cp1252"),
        b"\xef\xbb\xbf" + clean,
        f"{header}\n{record}\n\n{record}\n".encode(),
        clean.replace(b"\n", b"\r\n"),
        clean.rstrip(b"\n"),
        f"{header}\n".encode(),
        b"",
        clean,
        ";".join(reversed(header.split(","))).encode()
        + b"\n"
        + ";".join(reversed(record.split(","))).encode()
        + b"\n",
        clean,
    ]
    days = [START + timedelta(days=i) for i in range(len(contents))]
    for day, content in zip(days, contents, strict=True):
        write(folder, day, content)
    gz_day = days[10]
    (folder / f"date={gz_day.isoformat()}" / "members.csv").unlink()
    (folder / f"date={gz_day.isoformat()}" / "members.csv.gz").write_bytes(gzip.compress(clean))
    write(folder, days[-1], clean, "members_2.csv")
    ctx = IngestContext(landing_dir=tmp_path, pseudonym_key="k")
    scanned, reference = both_ways(source, folder, days, ctx)
    assert scanned == reference
    assert len(reference[FILES_TABLE]) == len(contents) + 1


def json_batch(con) -> dict[str, list[tuple]]:
    return {
        table: con.execute(f"select * from {table} order by all").fetchall()
        for table in (shopify.JSON_TABLE, REJECTS_TABLE, FILES_TABLE)
    }


def collect_json(source: Source, source_dir: Path, days, ctx) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    create_batch_tables(con, [c.name for c in source.columns])
    shopify._collect_json_days(con, source_dir, days, source.file_glob, ctx)
    return json_batch(con)


@pytest.mark.parametrize("source", [SHOPIFY_ORDERS, SHOPIFY_CUSTOMERS], ids=lambda s: s.name)
def test_json_lines_checked_many_files_at_a_time_as_one_by_one(
    landing, source, tmp_path, monkeypatch
):
    folder = tmp_path / source.landing_path
    shutil.copytree(landing / source.landing_path, folder)
    awkward = [
        b'{"id": 1}\r\n\r\n{"id": 2, "note": "a\xe2\x80\xa8b"}\n',
        b'[1, 2]\n"text"\n{"id": 3\n   \n{"id": 4}',
        b"",
        b"\n\n",
    ]
    for i, content in enumerate(awkward):
        day_folder = folder / f"date={DAYS[i].isoformat()}"
        day_folder.mkdir(parents=True, exist_ok=True)
        (day_folder / "zz_extra.jsonl").write_bytes(content)
    ctx = IngestContext(landing_dir=tmp_path, pseudonym_key="k")
    together = collect_json(source, folder, DAYS, ctx)
    monkeypatch.setattr(shopify, "JSON_BATCH_BYTES", 1)
    one_by_one = collect_json(source, folder, DAYS, ctx)
    assert together == one_by_one
    rejected = {(r[1].rsplit("/", 1)[-1], r[2]) for r in one_by_one[REJECTS_TABLE]}
    assert {("zz_extra.jsonl", 1), ("zz_extra.jsonl", 2), ("zz_extra.jsonl", 3)} <= rejected
    assert len(one_by_one[shopify.JSON_TABLE]) > 100
