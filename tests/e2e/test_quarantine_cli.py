"""`loyalty quarantine`: what ingest set aside, by source, day and reason; and a corrected file
re-ingested in place of the delivered one, after which the day's counts reconcile again."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, END = "2025-06-01", "2025-06-07"


def loyalty(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("quarantine_cli")
    made = loyalty(
        "generate",
        "--out",
        str(folder / "landing"),
        "--customers",
        "300",
        "--start",
        START,
        "--end",
        END,
        "--dirty-rate",
        "0.05",
    )
    assert made.returncode == 0, made.stderr
    config = folder / "loyalty.yml"
    config.write_text(
        f"start_date: {START}\nlanding_dir: landing\nwarehouse: {{path: warehouse.duckdb}}\n",
        encoding="utf-8",
    )
    run = loyalty("run", "--config", str(config))
    assert run.returncode == 0, run.stderr[-3000:]
    return folder


def warehouse(folder: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True)


def test_the_listing_counts_every_quarantined_row_by_source_day_and_reason(dirty: Path):
    listed = loyalty("quarantine", "--config", str(dirty / "loyalty.yml"))
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[0].split()[:4] == ["source", "day", "reason_code", "rows"]
    shown = {
        (fields[0], fields[1], fields[2]): int(fields[3].replace(",", ""))
        for fields in (line.split() for line in lines[1:-1])
    }
    with warehouse(dirty) as con:
        expected = {}
        for (table,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'quarantine'"
        ).fetchall():
            for day, reason, rows in con.execute(
                f"select partition_date::varchar, reason_code, count(*) "
                f"from quarantine.{table} group by all"
            ).fetchall():
                expected[(table, day or "(no day)", reason)] = rows
        read, quarantined = con.execute(
            "select sum(rows_read), sum(rows_quarantined) from ops.ingest_log"
        ).fetchone()
    assert shown == expected
    assert len({reason for _, _, reason in shown}) >= 3  # the dirty generator's several faults
    assert lines[-1].startswith(f"{quarantined:,} rows quarantined of {read:,} read")
    only = loyalty(
        "quarantine", "--config", str(dirty / "loyalty.yml"), "--source", "pos_tickets",
        "--start", END, "--end", END,
    )  # fmt: skip
    days = {line.split()[1] for line in only.stdout.strip().splitlines()[1:-1]}
    sources = {line.split()[0] for line in only.stdout.strip().splitlines()[1:-1]}
    assert days == {END} and sources == {"pos_tickets"}


def test_a_corrected_file_replaces_the_delivered_one_and_the_day_reconciles(
    dirty: Path, tmp_path: Path
):
    with warehouse(dirty) as con:
        day, file, bad_lines = con.execute(
            "select partition_date::varchar, source_file, list(source_line order by source_line) "
            "from quarantine.pos_tickets group by all order by count(*) desc limit 1"
        ).fetchone()
    delivered = dirty / "landing" / file
    original = delivered.read_text(encoding="utf-8")
    # The correction a data engineer would make: drop the rows the quarantine names.
    records = list(csv.reader(io.StringIO(original)))
    kept = [row for line, row in enumerate(records, start=1) if line not in set(bad_lines)]
    corrected = tmp_path / delivered.name
    with corrected.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(kept)

    result = loyalty(
        "quarantine", "reingest", "--config", str(dirty / "loyalty.yml"),
        "--source", "pos_tickets", "--date", day, str(corrected),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = len(kept) - 1
    assert f"  {file}: {rows:,} read = {rows:,} loaded + 0 quarantined" in result.stdout
    assert delivered.read_text(encoding="utf-8") == corrected.read_text(encoding="utf-8")
    (backup,) = (dirty / "landing" / "_replaced" / "pos" / "tickets" / f"date={day}").iterdir()
    assert backup.read_text(encoding="utf-8") == original
    with warehouse(dirty) as con:
        assert con.execute(
            "select count(*) from quarantine.pos_tickets where source_file = ?", [file]
        ).fetchone() == (0,)
        assert con.execute(
            "select count(*) from raw.pos_tickets where source_file = ?", [file]
        ).fetchone() == (rows,)


def test_a_file_that_was_not_delivered_is_refused_in_one_line(dirty: Path, tmp_path: Path):
    stray = tmp_path / "other.csv"
    stray.write_text("ticket_id\n", encoding="utf-8")
    result = loyalty(
        "quarantine", "reingest", "--config", str(dirty / "loyalty.yml"),
        "--source", "pos_tickets", "--date", END, str(stray),
    )  # fmt: skip
    assert result.returncode == 2
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"loyalty: no file named other.csv was delivered on {END} in ")
    assert "(delivered: tickets" in line
