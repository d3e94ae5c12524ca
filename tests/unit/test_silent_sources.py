"""A source that delivers nothing in a run says so, naming where it looked
(deliveries.silent_sources; `loyalty run` prints each line and stops when no source delivered)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from dagster_project.config import settings_from_dict
from dagster_project.deliveries import files_delivered, silent_sources
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

GENERIC = {
    "path": "sales/*.csv",
    "columns": {"customer_id": "C", "order_id": "O", "ordered_at": "T", "amount": "A"},
}


@pytest.fixture
def project(tmp_path: Path):
    """Tickets delivered for 2 January only; a flat sales file configured; members named in the
    config but never delivered; the other folder sources neither named nor delivered."""
    (tmp_path / "landing" / "pos" / "tickets" / "date=2025-01-02").mkdir(parents=True)
    settings = settings_from_dict(
        {"sources": {"transactions": GENERIC, "pos_members": {"path": "cards"}}},
        tmp_path / "loyalty.yml",
    )
    con = connect(settings.warehouse_path)
    ensure_warehouse_tables(con)
    con.execute(
        "insert into ops.ingest_log (source, partition_date, source_file, rows_read, rows_loaded, "
        "rows_quarantined) values "
        "('pos_tickets', date '2025-01-02', 'pos/tickets/date=2025-01-02/t.csv', 3, 3, 0)"
    )
    con.close()
    return settings


def test_a_day_with_rows_names_only_the_sources_that_delivered_nothing(project):
    lines, delivered_any = silent_sources(project, date(2025, 1, 2), date(2025, 1, 2))
    assert delivered_any
    landing = project.landing_path
    assert lines == [
        f"sources.pos_members delivered no row for 2025-01-02: its folder {landing / 'cards'} "
        "does not exist (sources.pos_members.path is relative to landing_dir)",
        "sources.transactions delivered no row for 2025-01-02: no file matches "
        f"(path 'sales/*.csv', relative to landing_dir {landing})",
    ]


def test_a_range_with_no_row_names_every_source_and_where_it_looked(project):
    (project.landing_path / "sales").mkdir()
    (project.landing_path / "sales" / "2024.csv").write_text("C,O,T,A\n", encoding="utf-8")
    lines, delivered_any = silent_sources(project, date(2025, 3, 1), date(2025, 3, 31))
    assert not delivered_any
    tickets = project.landing_path / "pos" / "tickets"
    assert (
        "sources.pos_tickets delivered no row for 2025-03-01..2025-03-31: no day folder "
        f"(date=YYYY-MM-DD) in that range under {tickets}; it holds 2025-01-02..2025-01-02"
    ) in lines
    assert lines[-1].startswith(
        "sources.transactions delivered no row for 2025-03-01..2025-03-31: 1 file(s) match but "
        "none has an order dated in it"
    )
    assert len(lines) == 3


def test_before_a_run_files_dated_in_the_range_are_what_counts_as_delivered(project):
    """`loyalty run` refuses a range with nothing to load before it builds anything."""
    assert files_delivered(project, date(2025, 1, 1), date(2025, 1, 2))
    assert not files_delivered(project, date(2025, 3, 1), date(2025, 3, 31))
    # An order dated in the range, in the flat sales file, is something to load.
    (project.landing_path / "sales").mkdir()
    (project.landing_path / "sales" / "march.csv").write_text(
        "C,O,T,A\nc1,o1,2025-03-05 10:00:00,12.50\n", encoding="utf-8"
    )
    assert files_delivered(project, date(2025, 3, 1), date(2025, 3, 31))
    assert not files_delivered(project, date(2025, 4, 1), date(2025, 4, 30))


def test_silent_sources_before_the_first_run_name_every_source(tmp_path: Path):
    settings = settings_from_dict({"sources": {"transactions": GENERIC}}, tmp_path / "loyalty.yml")
    lines, delivered_any = silent_sources(settings, date(2025, 1, 1), date(2025, 1, 1))
    assert not settings.warehouse_path.exists()
    assert not delivered_any
    assert lines[-1].startswith("sources.transactions delivered no row for 2025-01-01")


def test_the_command_can_refuse_an_empty_night_without_importing_dagster():
    """`loyalty run` checks what was delivered before it imports Dagster (about 4 s of CPU), so
    a night when nothing arrived is answered at once: neither module may pull Dagster in."""
    probe = (
        "import sys, dagster_project.cli, dagster_project.deliveries; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_dbt')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
