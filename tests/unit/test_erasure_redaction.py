"""An erasure redacts the person's delivered rows in raw and quarantine (lib/erasure/warehouse.py)
and the segment files of earlier days (lib/erasure/exports.py), and leaves everyone else alone."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.erasure.exports import purge_export_files
from dagster_project.lib.erasure.warehouse import (
    RAW_REDACTIONS,
    REQUEST_REDACTION,
    redact_erased,
)
from dagster_project.lib.exports import profile_for
from dagster_project.lib.exports.files import ExportFile, publish_export, split_csv
from dagster_project.lib.privacy import PERSONAL_COLUMNS, keyed_hash
from dagster_project.lib.sources.specs import ALL_RAW_TABLES
from dagster_project.lib.warehouse import ensure_warehouse_tables

KEY = "test-key"


def card(card_id: str) -> str:
    return keyed_hash(card_id, KEY, "card")


def email(address: str) -> str:
    return keyed_hash(address.strip().lower(), KEY, "email")


def phone(number: str) -> str:
    return keyed_hash(number, KEY, "phone")


# Sources whose rows belong to a person: ingest derives a keyed id or an address from them (a
# store's or a product's postal code is no one's).
PEOPLE_SOURCES = [s for s in ALL_RAW_TABLES if s.derived]


def test_the_sources_about_people_are_those_with_contacts_or_ids():
    assert {s.name for s in PEOPLE_SOURCES} >= {r.table for r in RAW_REDACTIONS}


@pytest.mark.parametrize("source", PEOPLE_SOURCES, ids=lambda s: s.name)
def test_every_personal_column_of_every_raw_table_is_redacted(source):
    """Derived from the source registry: a personal column added to a source and not to its
    redaction fails here."""
    covered = {r.table: set(r.columns) for r in (*RAW_REDACTIONS, REQUEST_REDACTION)}
    personal = {name for name, _ in source.raw_columns() if name in PERSONAL_COLUMNS}
    assert personal <= covered.get(source.name, set()), personal - covered.get(source.name, set())


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    ensure_warehouse_tables(con)
    con.execute(
        "create table pii.erased_identities as select * from (values "
        "('card', $ana, $ana), ('shopify', 's_ana', $ana)) "
        "as t(source_system, source_key, customer_key)",
        {"ana": card("1001")},
    )
    members = [
        ("1001", "Ana", "Ana@Example.com", "ana@example.com", "+34600000001"),
        ("1002", "Bea", "bea@example.com", "bea@example.com", "+34600000002"),
    ]
    for card_id, name, address, normal, number in members:
        con.execute(
            "insert into raw.pos_members (partition_date, source_file, card_id, first_name, email, "
            "email_normalized, phone, phone_e164, postal_code, card_key, email_key, phone_key) "
            "values ('2025-01-02', 'm.csv', ?, ?, ?, ?, ?, ?, '08001', ?, ?, ?)",
            [card_id, name, address, normal, number, number, card(card_id), email(normal),
             phone(number)],
        )  # fmt: skip
    con.execute(
        "insert into raw.pos_tickets (partition_date, source_file, ticket_id, card_id, card_key) "
        "values ('2025-01-05', 't.csv', 'T1', '1001', ?), ('2025-01-01', 't.csv', 'T2', '1002', ?)",
        [card("1001"), card("1002")],
    )
    con.execute(
        "insert into raw.shopify_orders (source_file, order_id, email, customer_id, "
        "customer_email, customer_email_normalized, customer_key, customer_email_key) values "
        "('o.jsonl', 1, 'ana@example.com', 77, 'ana@example.com', 'ana@example.com', 's_ana', ?)",
        [email("ana@example.com")],
    )
    # Ana's address unsubscribed, Bea's too: only Ana's loses its address.
    con.execute(
        "insert into raw.marketing_unsubscribes (source_file, email, email_normalized, email_key) "
        "values ('u.csv', 'ANA@example.com ', 'ana@example.com', ?), "
        "('u.csv', 'bea@example.com', 'bea@example.com', ?)",
        [email("ana@example.com"), email("bea@example.com")],
    )
    con.execute(
        "insert into raw.privacy_erasure_requests (source_file, request_id, card_id, email, "
        "email_normalized, card_key, email_key) values "
        "('e.csv', 'R1', '1001', 'ana@example.com', 'ana@example.com', ?, ?)",
        [card("1001"), email("ana@example.com")],
    )
    quarantined = [
        # A member row with a bad date, naming Ana by her card; one naming her by address only.
        json.dumps({"card_id": "1001", "email": "x", "birth_date": "31/02/1990"}),
        json.dumps({"card_id": "9999", "email": " Ana@example.com", "birth_date": "bad"}),
        json.dumps({"card_id": "1002", "email": "bea@example.com", "birth_date": "bad"}),
        # A line that is not even a record, with Ana's number in its text.
        '1001;"Ana;+34600000001',
    ]
    con.executemany(
        "insert into quarantine.pos_members (source_file, source_line, reason_code, "
        "reason_detail, raw_record) values ('m.csv', ?, 'invalid_value', 'detail', ?)",
        list(enumerate(quarantined, start=10)),
    )
    return con


def test_an_erased_persons_rows_lose_their_personal_values_and_keep_their_keys(con):
    counts = redact_erased(con, KEY)
    assert counts.people == 1
    # The days a copy of raw elsewhere (Spark) must take again: Ana's rows', not Bea's.
    assert counts.raw_days == (date(2025, 1, 2), date(2025, 1, 5))
    ana = con.execute(
        "select card_id, first_name, email, email_normalized, phone, phone_e164, postal_code, "
        "card_key, email_key, phone_key from raw.pos_members where first_name is null"
    ).fetchall()
    assert ana == [(None, None, "", None, "", None, None, card("1001"), email("ana@example.com"),
                    phone("+34600000001"))]  # fmt: skip
    bea = con.execute(
        "select card_id, first_name, email from raw.pos_members where card_id = '1002'"
    )
    assert bea.fetchall() == [("1002", "Bea", "bea@example.com")]
    assert con.execute("select card_id from raw.pos_tickets order by ticket_id").fetchall() == [
        (None,),
        ("1002",),
    ]
    order = con.execute(
        "select email, customer_id, customer_email, customer_email_normalized, customer_key "
        "from raw.shopify_orders"
    ).fetchall()
    assert order == [(None, None, "", None, "s_ana")]
    assert con.execute(
        "select email, email_key is not null from raw.marketing_unsubscribes order by email"
    ).fetchall() == [("bea@example.com", True), (None, True)]
    assert con.execute(
        "select card_id, email, email_normalized, card_key, email_key "
        "from raw.privacy_erasure_requests"
    ).fetchall() == [(None, None, None, card("1001"), email("ana@example.com"))]
    records = con.execute(
        "select source_line, raw_record is null, reason_detail is null, reason_code "
        "from quarantine.pos_members order by source_line"
    ).fetchall()
    assert records == [
        (10, True, True, "invalid_value"),
        (11, True, True, "invalid_value"),
        (12, False, False, "invalid_value"),
        (13, True, True, "invalid_value"),
    ]
    # A second pass finds nothing left to do.
    assert redact_erased(con, KEY).total == 0


def test_nobody_erased_changes_nothing_but_the_requests_clear_ids(con):
    con.execute("delete from pii.erased_identities")
    con.execute("delete from raw.privacy_erasure_requests")
    before = con.execute("select * from raw.pos_members order by card_id").fetchall()
    counts = redact_erased(con, KEY)
    assert counts.total == 0
    assert con.execute("select * from raw.pos_members order by card_id").fetchall() == before


def _export(
    folder: Path, tool: str, upsert_rows: list[dict], optouts: list[dict], channel: str = "email"
) -> None:
    import pandas as pd

    profile = profile_for(tool, channel)
    column, field = profile.address_column, "phone" if channel == "sms" else "email"
    upsert = pd.DataFrame([{column: r[field], "In buyers": "yes"} for r in upsert_rows])
    optout = pd.DataFrame({column: [r[field] for r in optouts]})
    delimiter = profile.delimiter
    files = [
        ExportFile(
            f"{tool}_buyers.csv", "upsert", split_csv(upsert, delimiter=delimiter)[0], len(upsert)
        ),
        ExportFile(
            f"{tool}_buyers_optout.csv",
            "optout",
            split_csv(optout, delimiter=delimiter)[0],
            len(optout),
        ),
    ]
    publish_export(folder, files, {"as_of_date": folder.name, "tool": tool, "channel": channel})


def test_earlier_segment_files_are_rewritten_without_the_erased_person(con, tmp_path: Path):
    day1, day2, day3 = date(2025, 3, 1), date(2025, 3, 2), date(2025, 3, 3)
    ana, bea = card("1001"), card("1002")
    con.executemany(
        "insert into analytics.campaign_members values (?, 'buyers', ?, 'gold', false)",
        [(day1, ana), (day1, bea), (day2, bea), (day3, bea)],
    )
    people = {"ana": {"email": "Ana@Example.com"}, "bea": {"email": "bea@example.com"}}
    days = {day1: ([people["ana"], people["bea"]], []), day2: ([people["bea"]], [people["ana"]])}
    for day, (sent, opted_out) in days.items():
        folder = tmp_path / "mailchimp" / "buyers" / day.isoformat()
        _export(folder, "mailchimp", sent, opted_out)
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        for entry in manifest["files"]:
            con.execute(
                "insert into ops.export_log values (?, 'mailchimp', 'buyers', ?, ?, ?, ?, now())",
                [day, entry["name"], entry["kind"], entry["rows"], entry["sha256"]],
            )
    redact_erased(con, KEY)
    purged = purge_export_files(con, tmp_path, KEY, {})
    assert purged.rows == 2
    for day in (day1, day2):
        folder = tmp_path / "mailchimp" / "buyers" / day.isoformat()
        text = "".join(p.read_text(encoding="utf-8") for p in folder.glob("*.csv"))
        assert "ana@example.com" not in text.lower()
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        logged = dict(
            con.execute(
                "select file_name, sha256 from ops.export_log where as_of_date = ?", [day]
            ).fetchall()
        )
        assert {e["name"]: e["sha256"] for e in manifest["files"]} == logged
    assert (
        "bea@example.com"
        in (tmp_path / "mailchimp/buyers/2025-03-02/mailchimp_buyers.csv").read_text()
    )
    # Done up to the latest export day: the next pass reads nothing again.
    assert purge_export_files(con, tmp_path, KEY, {}).rows == 0


def test_earlier_sms_files_are_rewritten_without_the_erased_persons_number(con, tmp_path: Path):
    # An SMS segment's files name people by their number only: the erasure finds Ana there by
    # the keyed hash of her E.164 number, and leaves Bea's.
    day = date(2025, 3, 1)
    ana, bea = card("1001"), card("1002")
    con.executemany(
        "insert into analytics.campaign_members values (?, 'buyers', ?, 'gold', false)",
        [(day, ana), (day, bea)],
    )
    people = [{"phone": "+34600000001"}, {"phone": "+34600000002"}]
    folder = tmp_path / "brevo" / "buyers" / day.isoformat()
    _export(folder, "brevo", people, [], channel="sms")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["files"]:
        con.execute(
            "insert into ops.export_log values (?, 'brevo', 'buyers', ?, ?, ?, ?, now())",
            [day, entry["name"], entry["kind"], entry["rows"], entry["sha256"]],
        )
    redact_erased(con, KEY)
    purged = purge_export_files(con, tmp_path, KEY, {})
    assert purged.rows == 1
    text = (folder / "brevo_buyers.csv").read_text(encoding="utf-8")
    assert "+34600000001" not in text and "+34600000002" in text
    assert text.splitlines()[0].split(";")[0] == "SMS"


def test_a_rewritten_file_keeps_every_other_row_byte_for_byte():
    """Kept rows come out as the export writer wrote them, a quoted newline or delimiter
    included; only the erased person's row goes."""
    import pandas as pd

    from dagster_project.lib.erasure.exports import ErasedKeys, _without_erased_csv

    frame = pd.DataFrame(
        {
            "Email Address": ["bea@example.com", "Ana@Example.com", "cruz@example.com"],
            "First Name": ['Bea "B"', "Ana", "Cruz\nde la, Sierra"],
            "In buyers": ["yes", "yes", ""],
        }
    )
    (written,) = split_csv(frame)
    (expected,) = split_csv(frame.drop(index=1))
    erased = ErasedKeys({email("ana@example.com")}, set(), KEY)
    kept = _without_erased_csv(written, "Email Address", "email", ",", erased)
    assert kept == (expected, 2, 1)
