"""The POS database source against a real PostgreSQL: a throw-away database per test.

PostgreSQL is expected at 127.0.0.1:5432 as user postgres (tests/conftest.py: `postgres_database`).
Without it these tests skip, except under CI=true, where they fail: CI must exercise them.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from pathlib import Path

import dagster as dg
import psycopg2
import pytest

from dagster_project.config import settings_from_dict
from dagster_project.defs.ingest.assets import ingest_assets
from dagster_project.defs.partitions import daily_partitions
from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.sources import database_load
from dagster_project.lib.sources.database import DatabaseSourceError, DatabaseTable
from dagster_project.lib.sources.database_load import load_database_source
from dagster_project.lib.sources.load import IngestContext, load_csv_source
from dagster_project.lib.sources.specs import POS_MEMBERS, POS_TICKETS
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

URL_ENV = "LOYALTY_TEST_POS_DATABASE_URL"
DAY1, DAY2, DAY3 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)

SCHEMA = """
create table ticket_lines (
    ticket_id text not null, line_number integer not null, store_id text not null,
    sold_at timestamptz not null, card_id text, sku text not null, quantity integer not null,
    unit_price numeric(10, 2) not null, discount_amount numeric(10, 2),
    line_amount numeric(10, 2) not null, coupon_code text, original_ticket_id text,
    voided boolean not null default false, updated_at timestamptz not null,
    primary key (ticket_id, line_number)
);
create table members (
    card_id text primary key, enrolled_on date, updated_at timestamp not null,
    first_name text, last_name text, birth_date date, email text, phone text, postal_code text,
    marital_status text, home_store_id text, email_opt_in boolean, sms_opt_in boolean,
    deleted_at timestamptz
);
"""
TICKET_COLUMNS = [c.name for c in POS_TICKETS.columns]
MEMBER_COLUMNS = [c.name for c in POS_MEMBERS.columns]
# Written as a POS file would state them; PostgreSQL casts the same text to its column types.
# fmt: off
TICKETS = [
    ("T1", "1", "S1", "2025-03-01 09:00:00", "C1", "P1", "2", "10.00", "0.00", "20.00", None, None),
    ("T1", "2", "S1", "2025-03-01 09:00:00", "C1", "P2", "1", "5.00", "1.00", "4.00", "CUP", None),
    ("T2", "1", "S2", "2025-03-01 10:00:00", None, "P1", "1", "-10.00", "0.00", "-10.00", None, None),
    ("T3", "1", "S1", "2025-03-01 11:00:00", "C2", "P1", "-1", "10.00", "0.00", "-10.00", None, "T1"),
]
TICKET_UPDATED = [
    "2025-03-01 09:00:05", "2025-03-01 09:00:05", "2025-03-01 10:00:05", "2025-03-01 11:00:05"
]
MEMBERS = [
    ("C1", "2024-05-01", "2025-03-01 08:30:00", "Ana", "García", "1980-02-03", " Ana@Example.com ",
     "612 345 678", "08001", "married", "S1", "true", "false"),
    ("C2", "2025-03-01", "2025-03-01 12:00:00", "Luis", None, None, "not-an-email",
     "+34 699 000 111", "28001", "single", "S2", "false", "true"),
    ("C3", None, "2025-03-01 13:00:00", "Eva", None, None, None, None, None, None, None, None, None),
]
# fmt: on

TICKETS_TABLE = DatabaseTable(
    POS_TICKETS,
    "sources.pos_database.tickets",
    table="public.ticket_lines",
    deleted_column="voided",
)
MEMBERS_TABLE = DatabaseTable(
    POS_MEMBERS, "sources.pos_database.members", table="members", deleted_column="deleted_at"
)


class Pos:
    """The POS's database, written the way a POS writes it."""

    def __init__(self, url: str) -> None:
        self.con = psycopg2.connect(url, connect_timeout=3)
        self.con.autocommit = True

    def execute(self, sql: str, params: tuple | list | None = None) -> None:
        with self.con.cursor() as cursor:
            cursor.execute(sql, params)

    def add_tickets(self, rows, updated_at, offset: str = "+01") -> None:
        for row, updated in zip(rows, updated_at, strict=True):
            values = [
                v + offset if c == "sold_at" else v
                for c, v in zip(TICKET_COLUMNS, row, strict=True)
            ]
            self.execute(
                f"insert into ticket_lines ({', '.join(TICKET_COLUMNS)}, updated_at) "
                f"values ({', '.join(['%s'] * len(row))}, %s)",
                [*values, updated + offset],
            )

    def add_members(self, rows) -> None:
        for row in rows:
            self.execute(
                f"insert into members ({', '.join(MEMBER_COLUMNS)}) "
                f"values ({', '.join(['%s'] * len(row))})",
                row,
            )


@pytest.fixture
def pos(monkeypatch: pytest.MonkeyPatch, postgres_database):
    with postgres_database("loyalty_pos") as pos_database:
        monkeypatch.setenv(URL_ENV, pos_database.url)
        database = Pos(pos_database.url)
        try:
            database.execute(SCHEMA)
            database.add_tickets(TICKETS, TICKET_UPDATED)
            database.add_members(MEMBERS)
            yield database
        finally:
            database.con.close()


CTX = IngestContext(landing_dir=Path("/nonexistent"), pseudonym_key="test-key")


def load(con, table: DatabaseTable, end: date, **options):
    return load_database_source(con, table, URL_ENV, end, CTX, **options)


def rows(con, table: str, exclude: str = "") -> list[tuple]:
    columns = f"* exclude ({exclude})" if exclude else "*"
    return con.execute(f"select {columns} from {table} order by all").fetchall()


def snapshot(con) -> dict[str, list[tuple]]:
    return {
        "raw": rows(con, "raw.pos_tickets"),
        "quarantine": rows(con, "quarantine.pos_tickets"),
        "log": rows(con, "ops.ingest_log", "loaded_at"),
        "watermark": rows(con, "ops.source_watermarks", "updated_at"),
    }


def watermark(con, source: str = "pos_tickets") -> datetime | None:
    row = con.execute(
        "select high_watermark from ops.source_watermarks where source = ?", [source]
    ).fetchone()
    return row[0] if row else None


def log_balances(con) -> list[tuple]:
    """(day, read, loaded + quarantined, raw rows, quarantined rows) per logged day."""
    return con.execute(
        """select l.partition_date, l.rows_read, l.rows_loaded + l.rows_quarantined,
            (select count(*) from raw.pos_tickets r where r.partition_date = l.partition_date),
            (select count(*) from quarantine.pos_tickets q
             where q.partition_date = l.partition_date)
        from ops.ingest_log as l where source = 'pos_tickets' order by 1"""
    ).fetchall()


def _csv(columns: list[str], records) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None else v for v in r] for r in records])
    return out.getvalue()


# ---------- initial load: the same raw rows as the file source


def test_the_initial_load_gives_the_raw_rows_the_file_source_gives(pos, con, tmp_path):
    tickets = load(con, TICKETS_TABLE, DAY1)
    members = load(con, MEMBERS_TABLE, DAY1)
    assert (tickets.rows_read, tickets.rows_loaded, tickets.rows_quarantined) == (4, 3, 1)
    assert tickets.quarantined_by_reason == {"negative_amount": 1}
    assert (members.rows_read, members.rows_loaded, members.rows_quarantined) == (3, 2, 1)
    assert tickets.details["full_load"] and tickets.details["rows_without_updated_at"] == 0

    # The same records delivered as files, loaded by the file source into another warehouse.
    landing = tmp_path / "landing"
    for folder, columns, records in (
        ("pos/tickets", TICKET_COLUMNS, TICKETS),
        ("pos/members", MEMBER_COLUMNS, MEMBERS),
    ):
        day_dir = landing / folder / f"date={DAY1}"
        day_dir.mkdir(parents=True)
        (day_dir / "export.csv").write_text(_csv(columns, records), encoding="utf-8")
    files = connect(tmp_path / "from_files.duckdb")
    files.execute("set TimeZone = 'Europe/Madrid'")
    ensure_warehouse_tables(files)
    file_ctx = IngestContext(landing_dir=landing, pseudonym_key="test-key")
    for source, folder in ((POS_TICKETS, "pos/tickets"), (POS_MEMBERS, "pos/members")):
        load_csv_source(files, source, landing / folder, DAY1, DAY1, file_ctx)
        lineage = "source_file, source_line"
        assert rows(con, f"raw.{source.name}", lineage) == rows(
            files, f"raw.{source.name}", lineage
        )
        assert rows(con, f"quarantine.{source.name}", lineage) == rows(
            files, f"quarantine.{source.name}", lineage
        )
    files.close()

    assert {r[0] for r in rows(con, "raw.pos_tickets")} == {DAY1}
    lineage = con.execute(
        "select distinct source_file, source_line from raw.pos_tickets"
    ).fetchall()
    assert lineage == [("pos_database:public.ticket_lines", None)]
    # 11:00:05 in Madrid is 10:00:05 UTC: a timestamptz watermark is kept in UTC.
    assert watermark(con) == datetime(2025, 3, 1, 10, 0, 5)
    assert watermark(con, "pos_members") == datetime(2025, 3, 1, 13, 0)
    assert log_balances(con) == [(DAY1, 4, 4, 3, 1)]


# ---------- incremental load


def test_an_incremental_load_reads_the_changes_up_to_the_run_day(pos, con):
    load(con, TICKETS_TABLE, DAY1)
    before = rows(con, "raw.pos_tickets")
    pos.add_tickets(
        [
            ("T4", "1", "S1", "2025-03-02 10:00:00", "C1", "P3", "1", "7.50", None, "7.50", None, None),
            ("T5", "1", "S2", "2025-03-03 10:00:00", None, "P3", "1", "7.50", None, "7.50", None, None),
        ],
        ["2025-03-02 10:00:01", "2025-03-03 10:00:01"],
    )  # fmt: skip

    result = load(con, TICKETS_TABLE, DAY2)
    # T4, plus T3 again: it changed within the overlap before the watermark (late commits).
    assert (result.rows_read, result.details["full_load"]) == (2, False)
    days = dict(con.execute("select ticket_id, partition_date from raw.pos_tickets").fetchall())
    assert days["T4"] == DAY2 and "T5" not in days
    assert set(before) < set(rows(con, "raw.pos_tickets"))
    assert watermark(con) == datetime(2025, 3, 2, 9, 0, 1)

    # Re-running the day changes nothing; the next day brings T5.
    again = snapshot(con)
    load(con, TICKETS_TABLE, DAY2)
    assert snapshot(con) == again
    load(con, TICKETS_TABLE, DAY3)
    assert con.execute(
        "select partition_date from raw.pos_tickets where ticket_id = 'T5'"
    ).fetchall() == [(DAY3,)]
    assert log_balances(con) == [(DAY1, 4, 4, 3, 1), (DAY2, 1, 1, 1, 0), (DAY3, 1, 1, 1, 0)]


# ---------- an update to an old ticket


def test_an_update_to_an_old_ticket_replaces_its_earlier_version(pos, con):
    load(con, TICKETS_TABLE, DAY1)
    load(con, TICKETS_TABLE, DAY2)
    # Two days later the POS corrects T1's first line, and fixes T2's negative price.
    pos.execute(
        "update ticket_lines set quantity = 3, line_amount = 30.00, "
        "updated_at = '2025-03-03 09:30:00+01' where ticket_id = 'T1' and line_number = 1"
    )
    pos.execute(
        "update ticket_lines set unit_price = 10.00, line_amount = 10.00, "
        "updated_at = '2025-03-03 09:31:00+01' where ticket_id = 'T2'"
    )
    result = load(con, TICKETS_TABLE, DAY3)

    # The two corrections, and T3 again (within the overlap before the watermark).
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 3, 0)
    t1 = con.execute(
        "select quantity, line_amount, partition_date from raw.pos_tickets "
        "where ticket_id = 'T1' and line_number = 1"
    ).fetchall()
    assert t1 == [(3, 30, DAY3)]
    assert con.execute("select count(*) from raw.pos_tickets").fetchone() == (4,)
    assert rows(con, "quarantine.pos_tickets") == []
    # Day 1 now holds two rows from the database; day 3 the two corrected ones.
    assert log_balances(con) == [(DAY1, 2, 2, 2, 0), (DAY3, 2, 2, 2, 0)]


# ---------- a failed run keeps the watermark


def test_a_failed_run_leaves_the_watermark_and_the_rows_as_they_were(pos, con, monkeypatch):
    load(con, TICKETS_TABLE, DAY1)
    before = snapshot(con)
    pos.execute(
        "update ticket_lines set quantity = 3, line_amount = 30.00, "
        "updated_at = '2025-03-02 09:30:00+01' where ticket_id = 'T1' and line_number = 1"
    )

    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")

    # Fails after the raw rows are replaced, before the watermark would move.
    with monkeypatch.context() as patch:
        patch.setattr(database_load, "insert_quarantine", disk_full)
        with pytest.raises(OSError, match="No space left"):
            load(con, TICKETS_TABLE, DAY2)
    assert snapshot(con) == before
    assert watermark(con) == datetime(2025, 3, 1, 10, 0, 5)

    load(con, TICKETS_TABLE, DAY2)
    assert con.execute(
        "select quantity from raw.pos_tickets where ticket_id = 'T1' and line_number = 1"
    ).fetchall() == [(3,)]
    assert watermark(con) == datetime(2025, 3, 2, 8, 30)


# ---------- deletes


def test_a_row_marked_deleted_removes_its_record(pos, con):
    load(con, TICKETS_TABLE, DAY1)
    load(con, MEMBERS_TABLE, DAY1)
    # A voided ticket line; a member who changed their email, then left.
    pos.execute(
        "update ticket_lines set voided = true, updated_at = '2025-03-02 12:00:00+01' "
        "where ticket_id = 'T1' and line_number = 2"
    )
    pos.execute(
        "update members set email = 'ana@new.example', updated_at = '2025-03-02 09:00:00' "
        "where card_id = 'C1'"
    )
    load(con, MEMBERS_TABLE, DAY2)
    assert con.execute("select count(*) from raw.pos_members where card_id = 'C1'").fetchone() == (
        2,
    )

    pos.execute(
        "update members set deleted_at = now(), updated_at = '2025-03-03 09:00:00' "
        "where card_id = 'C1'"
    )
    tickets = load(con, TICKETS_TABLE, DAY3)
    members = load(con, MEMBERS_TABLE, DAY3)

    assert (tickets.details["records_deleted"], tickets.details["raw_rows_deleted"]) == (1, 1)
    assert (members.details["records_deleted"], members.details["raw_rows_deleted"]) == (1, 2)
    assert con.execute(
        "select ticket_id, line_number from raw.pos_tickets order by all"
    ).fetchall() == [("T1", 1), ("T3", 1)]
    assert con.execute("select card_id from raw.pos_members").fetchall() == [("C2",)]
    assert log_balances(con) == [(DAY1, 3, 3, 2, 1)]


def test_a_row_deleted_outright_goes_on_a_full_reload(pos, con):
    load(con, TICKETS_TABLE, DAY1)
    pos.execute("delete from ticket_lines where ticket_id = 'T3'")
    load(con, TICKETS_TABLE, DAY2)
    assert con.execute(
        "select count(*) from raw.pos_tickets where ticket_id = 'T3'"
    ).fetchone() == (1,)

    # The documented reset: forget the watermark, and the next run replaces the whole table.
    con.execute("delete from ops.source_watermarks where source = 'pos_tickets'")
    result = load(con, TICKETS_TABLE, DAY2)
    assert result.details["full_load"]
    assert con.execute(
        "select count(*) from raw.pos_tickets where ticket_id = 'T3'"
    ).fetchone() == (0,)
    assert log_balances(con) == [(DAY1, 3, 3, 2, 1)]


def test_a_query_can_stand_for_a_table_with_its_own_column_names(pos, con):
    query = DatabaseTable(
        POS_TICKETS,
        "sources.pos_database.tickets",
        query="select ticket_id, line_number, store_id, sold_at, card_id, sku as product_code, "
        "quantity, unit_price, discount_amount, line_amount, updated_at "
        "from ticket_lines where store_id = 'S1';",
        columns={"sku": "product_code"},
    )
    result = load(con, query, DAY1)
    assert (result.rows_read, result.rows_loaded) == (3, 3)
    # Columns the query leaves out are read as empty, as a file without them would be.
    assert con.execute(
        "select distinct source_file, sku, coupon_code, original_ticket_id from raw.pos_tickets "
        "where ticket_id = 'T3'"
    ).fetchall() == [("pos_database:pos_tickets query", "P1", None, None)]


# ---------- bad input: one line naming the key, table or column


def _one_line_error(table: DatabaseTable, url_env: str = URL_ENV) -> str:
    with pytest.raises(DatabaseSourceError) as error, connect(":memory:") as memory:
        ensure_warehouse_tables(memory)
        load_database_source(memory, table, url_env, DAY1, CTX)
    message = str(error.value)
    assert "\n" not in message
    return message


def test_a_missing_table_column_or_watermark_column_is_named(pos):
    missing_table = DatabaseTable(POS_TICKETS, "sources.pos_database.tickets", table="public.nope")
    message = _one_line_error(missing_table)
    assert "sources.pos_database.tickets.table (public.nope)" in message
    assert 'relation "public.nope" does not exist' in message

    pos.execute("alter table ticket_lines rename column sku to product_code")
    message = _one_line_error(TICKETS_TABLE)
    assert "no column sku (for sku)" in message and "product_code" in message
    mapped = DatabaseTable(
        POS_TICKETS, "sources.pos_database.tickets", table="ticket_lines",
        columns={"sku": "product_code"}, updated_at_column="changed_at",
    )  # fmt: skip
    assert "sources.pos_database.tickets.updated_at_column: no column changed_at" in (
        _one_line_error(mapped)
    )


def test_an_unset_or_unreachable_database_url_is_one_line(monkeypatch):
    monkeypatch.delenv(URL_ENV, raising=False)
    assert f"{URL_ENV} is not set" in _one_line_error(TICKETS_TABLE)
    monkeypatch.setenv(URL_ENV, "mysql://pos:secret@127.0.0.1/pos")
    assert "only PostgreSQL URLs" in _one_line_error(TICKETS_TABLE)
    # Port 1: nothing listens there, so the connection is refused at once.
    monkeypatch.setenv(URL_ENV, "postgresql://pos:s3cret@127.0.0.1:1/pos")
    message = _one_line_error(TICKETS_TABLE)
    assert f"cannot connect to the POS database in {URL_ENV}" in message
    assert "s3cret" not in message


# ---------- the Dagster asset


def test_the_raw_tickets_asset_reads_the_database_when_configured(pos, tmp_path, monkeypatch):
    settings = settings_from_dict(
        {
            "start_date": "2025-01-01",
            "warehouse": {"path": "w.duckdb"},
            "sources": {
                "pos_database": {
                    "url_env": URL_ENV,
                    "tickets": {"table": "ticket_lines", "deleted_column": "voided"},
                }
            },
        },
        tmp_path / "loyalty.yml",
    )
    assert settings.folder_source_dir("pos_tickets") is None
    asset = next(
        a
        for a in ingest_assets(settings, daily_partitions(settings))
        if dg.AssetKey(["raw", "pos_tickets"]) in a.keys
    )
    warehouse = WarehouseResource(path=str(settings.warehouse_path), timezone=settings.timezone)
    result = dg.materialize([asset], partition_key=str(DAY1), resources={"warehouse": warehouse})
    metadata = result.asset_materializations_for_node(asset.op.name)[0].metadata
    assert metadata["rows_loaded"].value == 3 and metadata["full_load"].value is True

    monkeypatch.delenv(URL_ENV)
    failed = dg.materialize(
        [asset], partition_key=str(DAY2), resources={"warehouse": warehouse}, raise_on_error=False
    )
    failure = next(e for e in failed.all_events if e.is_step_failure)
    assert failure.step_failure_data.user_failure_data.description == (
        f"pos_tickets: {URL_ENV} is not set: export the POS database URL "
        "(postgresql://user@host:5432/db) in it (sources.pos_database.url_env)"
    )
