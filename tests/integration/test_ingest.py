"""Ingest of landing folders into raw, quarantine and ops.ingest_log on a real DuckDB file."""

from datetime import date
from pathlib import Path

import pytest

from dagster_project.lib.sources.files import SourceFileError
from dagster_project.lib.sources.load import IngestContext, load_csv_source
from dagster_project.lib.sources.shopify import load_shopify_orders
from dagster_project.lib.sources.specs import MARKETING_CAMPAIGN_ACTIVITY, POS_TICKETS

DAY = date(2025, 3, 1)
HEADER = (
    "ticket_id,line_number,store_id,sold_at,card_id,sku,quantity,unit_price,"
    "discount_amount,line_amount,coupon_code,original_ticket_id\n"
)
TICKETS = HEADER + (
    "T1,1,S1,2025-03-01 10:00:00,C1,P1,2,10.00,0.00,20.00,,\n"  # line 2: loads
    "T1,2,S1,2025-03-01 10:00:00,C1,P2,1,5.00,1.00,4.00,CUP,\n"  # line 3: loads
    "T2,1,S1,2025-03-01 11:00:00,,P1,1,-10.00,0,-10.00,,\n"  # negative price
    "T3,1,S1,2025-13-01 11:00:00,C2,P1,1,10.00,0,10.00,,\n"  # bad timestamp
    "T1,1,S1,2025-03-01 10:00:00,C1,P1,2,10.00,0.00,20.00,,\n"  # duplicate of line 2
    "T4,1,S1,2025-03-01 12:00:00,C2,P1,1,10.00,0,11.00,,\n"  # amount does not add up
    "T5,1,S1,2025-03-01 12:00:00,C2,,1,10.00,0,10.00,,\n"  # sku missing
    "T6,1,S1,2030-03-01 12:00:00,C2,P1,1,10.00,0,10.00,,\n"  # after its delivery day
    "T7,1,S1,2025-03-01 12:00:00,C2,P1,0,10.00,0,0.00,,\n"  # zero quantity
    "T8,1,S1\n"  # truncated
)
EXPECTED_REASONS = {
    4: "negative_amount",
    5: "bad_type",
    6: "duplicate_row",
    7: "amount_mismatch",
    8: "missing_required",
    9: "date_out_of_range",
    10: "zero_quantity",
    11: "malformed_record",
}


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    folder = tmp_path / "landing" / "pos" / "tickets" / f"date={DAY}"
    folder.mkdir(parents=True)
    (folder / "tickets.csv").write_text(TICKETS, encoding="utf-8")
    return tmp_path / "landing"


def context(landing: Path) -> IngestContext:
    return IngestContext(landing_dir=landing, pseudonym_key="test-key")


def snapshot(con):
    return {
        table: con.execute(f"select * from {table} order by all").fetchall()
        for table in ("raw.pos_tickets", "quarantine.pos_tickets")
    } | {
        "log": con.execute(
            "select * exclude (loaded_at) from ops.ingest_log order by all"
        ).fetchall()
    }


def test_every_row_is_loaded_or_quarantined_with_its_reason(con, landing):
    result = load_csv_source(
        con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing)
    )
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (10, 2, 8)
    reasons = dict(
        con.execute("select source_line, reason_code from quarantine.pos_tickets").fetchall()
    )
    assert reasons == EXPECTED_REASONS
    loaded = con.execute(
        "select source_line, ticket_id, line_amount from raw.pos_tickets order by 1"
    ).fetchall()
    assert [(line, ticket, float(amount)) for line, ticket, amount in loaded] == [
        (2, "T1", 20.0),
        (3, "T1", 4.0),
    ]
    log = con.execute(
        "select source_file, rows_read, rows_loaded, rows_quarantined, file_sha256 from ops.ingest_log"
    ).fetchall()
    assert log[0][:4] == (f"pos/tickets/date={DAY}/tickets.csv", 10, 2, 8)
    assert len(log[0][4]) == 64


def test_card_numbers_are_pseudonymised_not_copied(con, landing):
    load_csv_source(con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing))
    keys = {k for (k,) in con.execute("select distinct card_key from raw.pos_tickets").fetchall()}
    assert len(keys) == 1 and "C1" not in next(iter(keys))


def test_loading_a_day_twice_leaves_identical_tables(con, landing):
    load_csv_source(con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing))
    first = snapshot(con)
    load_csv_source(con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing))
    assert snapshot(con) == first


def test_an_unreadable_file_refuses_the_day_and_keeps_what_was_there(con, landing):
    load_csv_source(con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing))
    before = snapshot(con)
    (landing / "pos" / "tickets" / f"date={DAY}" / "z_more.csv").write_text(
        "ticket_id,sku\nT9,P1\n"
    )
    with pytest.raises(SourceFileError) as error:
        load_csv_source(con, POS_TICKETS, landing / "pos" / "tickets", DAY, DAY, context(landing))
    assert str(error.value).startswith(
        f"pos/tickets/date={DAY}/z_more.csv: missing required columns"
    )
    assert snapshot(con) == before


def test_a_shopify_order_with_a_bad_line_is_quarantined_whole(con, tmp_path):
    folder = tmp_path / "landing" / "ecommerce" / "orders" / f"date={DAY}"
    folder.mkdir(parents=True)
    good = (
        '{"id": 1, "created_at": "2025-03-01T23:30:00Z", "updated_at": "2025-03-01T23:30:00Z",'
        ' "subtotal_price": "10.00", "customer": {"id": 7},'
        ' "line_items": [{"id": 11, "sku": "P1", "quantity": 1, "price": "10.00", "total_discount": "0.00"}]}'
    )
    bad = good.replace('"id": 1,', '"id": 2,').replace('"price": "10.00"', '"price": "-1.00"')
    (folder / "orders.jsonl").write_text(f"{good}\n{bad}\n{{not json\n\n[1, 2]\n", encoding="utf-8")
    result = load_shopify_orders(con, folder.parent, DAY, DAY, context(tmp_path / "landing"))
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 1, 3)
    # 23:30 UTC on 1 March is 00:30 on 2 March in Madrid.
    assert con.execute("select created_at::varchar from raw.shopify_orders").fetchone() == (
        "2025-03-02 00:30:00",
    )
    assert con.execute("select count(*) from raw.shopify_order_lines").fetchone() == (1,)
    reasons = con.execute(
        "select source_line, reason_code, reason_detail from quarantine.shopify_orders order by 1"
    ).fetchall()
    assert reasons == [
        (2, "negative_amount", "line_items: price -1.00 breaks value >= 0"),
        (3, "malformed_record", "not valid JSON"),
        (5, "malformed_record", "not a JSON object"),
    ]


@pytest.mark.parametrize(
    ("header", "words"),
    [
        # Mailchimp's column names and actions; Klaviyo's metric names.
        ("Email Address,Campaign,Action,Timestamp", ("open", "click", "bounce", "unsubscribe")),
        (
            "Email,Campaign Name,Metric,Datetime",
            ("Opened Email", "Clicked Email", "Dropped Email", "Spam"),
        ),
    ],
)
def test_campaign_activity_lands_in_each_tools_words(con, tmp_path, header, words):
    """A tool's own export lands as it comes: its column names are known aliases, its event
    names are mapped to ours, and a word we do not know is quarantined, naming the value."""
    folder = tmp_path / "landing" / "marketing" / "campaign_activity" / f"date={DAY}"
    folder.mkdir(parents=True)
    lines = [header] + [
        f"Ana@Example.com,win_back,{word},2025-03-01 10:0{i}:00" for i, word in enumerate(words)
    ]
    (folder / "activity.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = load_csv_source(
        con,
        MARKETING_CAMPAIGN_ACTIVITY,
        tmp_path / "landing" / "marketing" / "campaign_activity",
        DAY,
        DAY,
        context(tmp_path / "landing"),
    )
    assert (result.rows_loaded, result.rows_quarantined) == (3, 1)
    loaded = con.execute(
        "select email_normalized, campaign, event_type from raw.marketing_campaign_activity "
        "order by source_line"
    ).fetchall()
    assert loaded == [
        ("ana@example.com", "win_back", "opened"),
        ("ana@example.com", "win_back", "clicked"),
        ("ana@example.com", "win_back", "bounced"),
    ]
    ((line, reason, detail),) = con.execute(
        "select source_line, reason_code, reason_detail from quarantine.marketing_campaign_activity"
    ).fetchall()
    assert (line, reason) == (5, "unknown_value")
    assert words[-1] in detail and "event" in detail
