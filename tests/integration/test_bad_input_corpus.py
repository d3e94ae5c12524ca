"""Bad input, as a new user's messy data would be: every record is loaded or quarantined, or the
file is refused in one line naming it; nothing crashes and nothing is lost.

Each case writes a small landing folder byte by byte (so an encoding is exactly what it says),
loads it through the real loader into a DuckDB file and checks the outcome: the rows in raw, the
rows in quarantine with their reason and line, or the one-line refusal. For every file the ingest
log accounts for as many records as the csv module (or a count of JSON lines) finds in it.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.lib.sources.files import UTF8_BOM, SourceFileError
from dagster_project.lib.sources.generic import GenericFileSpec, load_generic_transactions
from dagster_project.lib.sources.load import IngestContext, LoadResult, load_csv_source
from dagster_project.lib.sources.shopify import load_shopify_customers, load_shopify_orders
from dagster_project.lib.sources.specs import (
    FILE_SOURCES,
    QUARANTINE_REASONS,
    SHOPIFY_ORDERS,
    SOURCES_BY_NAME,
)
from dagster_project.lib.synthetic import generate

DAY = date(2025, 3, 1)
KEY = "test-key"
TICKET_HEADER = (
    "ticket_id,line_number,store_id,sold_at,card_id,sku,quantity,unit_price,"
    "discount_amount,line_amount,coupon_code,original_ticket_id"
)
MEMBER_HEADER = (
    "card_id,enrolled_on,updated_at,first_name,last_name,birth_date,email,phone,postal_code,"
    "marital_status,home_store_id,email_opt_in,sms_opt_in"
)
SALES_HEADER = "InvoiceNo,CustomerID,InvoiceDate,Total"
SALES_COLUMNS = {
    "customer_id": "CustomerID",
    "order_id": "InvoiceNo",
    "ordered_at": "InvoiceDate",
    "amount": "Total",
}
GOOD_TICKET = "T1,1,S1,2025-03-01 10:00:00,C1,P1,2,10.00,0.00,20.00,,"


def csv_bytes(header: str, *rows: str, encoding: str = "utf-8", newline: str = "\n") -> bytes:
    return (newline.join([header, *rows]) + newline).encode(encoding)


def member(card: str, first: str, last: str, updated_at: str = "2025-03-01 10:00:00") -> str:
    return f"{card},2024-01-01,{updated_at},{first},{last},,,,,,,,"


def order(order_id: int | str, **fields: object) -> str:
    record: dict[str, object] = {
        "id": order_id,
        "created_at": "2025-03-01T10:00:00+01:00",
        "updated_at": "2025-03-01T10:00:00+01:00",
        "subtotal_price": "10.00",
        "total_price": "10.00",
        "customer": {"id": 7},
        "line_items": [
            {"id": 100, "sku": "P1", "quantity": 1, "price": "10.00", "total_discount": "0.00"}
        ],
    }
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


def refund(subtotal: str) -> list[dict[str, object]]:
    return [
        {
            "id": 9,
            "created_at": "2025-03-01T12:00:00+01:00",
            "refund_line_items": [
                {"id": 91, "line_item_id": 100, "quantity": 1, "subtotal": subtotal}
            ],
        }
    ]


def customer(customer_id: int, **fields: object) -> str:
    record: dict[str, object] = {
        "id": customer_id,
        "email": f"c{customer_id}@example.com",
        "first_name": "Ana",
        "last_name": "García",
        "created_at": "2025-03-01T10:00:00+01:00",
        "updated_at": "2025-03-01T10:00:00+01:00",
        "email_marketing_consent": {"state": "subscribed", "opt_in_level": "single_opt_in"},
    }
    record.update(fields)
    return json.dumps(record, ensure_ascii=False)


def json_lines(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


@dataclass(frozen=True)
class Case:
    """Files of one source for one day, and what loading them must give."""

    id: str
    source: str  # a raw table fed by a loader: pos_tickets, pos_members, shopify_orders, …
    files: dict[str, bytes]
    # (file name, line) → (reason_code, a fragment of reason_detail); every other record loads.
    quarantined: dict[tuple[str, int], tuple[str, str]] = field(default_factory=dict)
    # A query over raw and the rows it must return (the loaded values, exactly).
    loaded: tuple[str, list[tuple]] | None = None
    # The file refused and the problem after "<file>: ", exactly.
    refused: tuple[str, str] | None = None
    day: date = DAY
    delimiter: str = ","  # for counting records independently
    generic: GenericFileSpec | None = None


CASES = [
    Case(
        "wrong_delimiter_detected_from_header",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER.replace(",", ";"),
                GOOD_TICKET.replace(",", ";"),
                # Detected as ';', a decimal comma is still not a number: not guessed at.
                "T2;1;S1;2025-03-01 11:00:00;C1;P1;1;10,00;0,00;10,00;;",
            )
        },
        quarantined={("tickets.csv", 3): ("bad_type", "unit_price is not a number: 10,00")},
        loaded=(
            "select source_line, ticket_id, line_amount from raw.pos_tickets",
            [(2, "T1", Decimal("20.00"))],
        ),
        delimiter=";",
    ),
    Case(
        "wrong_delimiter_configured",
        "transactions",
        {
            "sales.csv": csv_bytes(
                SALES_HEADER.replace(",", ";"), "1;17850;2025-03-01 10:00:00;10.50"
            )
        },
        refused=(
            "sales/sales.csv",
            "missing required column InvoiceDate; the header has: "
            "InvoiceNo;CustomerID;InvoiceDate;Total (is the delimiter right?)",
        ),
        generic=GenericFileSpec("sales/*.csv", SALES_COLUMNS, delimiter=","),
    ),
    Case(
        "utf8_bom_and_crlf",
        "pos_members",
        {
            "members.csv": UTF8_BOM
            + csv_bytes(
                MEMBER_HEADER,
                member("C1", "José", "Muñoz"),
                member("C2", "Iñaki", "Güell"),
                newline="\r\n",
            )
        },
        loaded=(
            "select source_line, card_id, first_name, last_name from raw.pos_members",
            [(2, "C1", "José", "Muñoz"), (3, "C2", "Iñaki", "Güell")],
        ),
    ),
    Case(
        "latin_1_file",
        "pos_members",
        {
            "members.csv": csv_bytes(
                MEMBER_HEADER,
                member("C1", "Françoise", "Ibáñez"),
                member("C2", "Çelik", "Müller"),
                encoding="latin-1",
            )
        },
        loaded=(
            "select source_line, first_name, last_name from raw.pos_members",
            [(2, "Françoise", "Ibáñez"), (3, "Çelik", "Müller")],
        ),
    ),
    Case(
        "windows_1252_file",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                # € and Œ exist in Windows-1252, not in Latin-1.
                "T1,1,Málaga,2025-03-01 10:00:00,C1,P1,2,10.00,0.00,20.00,5€OFF,",
                "T2,1,Cœur,2025-03-01 10:00:00,C1,P1,1,10.00,0.00,10.00,,",
                encoding="cp1252",
            )
        },
        loaded=(
            "select source_line, store_id, coupon_code from raw.pos_tickets",
            [(2, "Málaga", "5€OFF"), (3, "Cœur", None)],
        ),
    ),
    Case(
        # Valid text that was mis-decoded upstream: loaded as sent (repairing is a guess).
        "mojibake_names",
        "pos_members",
        {"members.csv": csv_bytes(MEMBER_HEADER, member("C1", "JosÃ©", "GarcÃ\u00ada MuÃ±oz"))},
        loaded=(
            "select source_line, first_name, last_name from raw.pos_members",
            [(2, "JosÃ©", "GarcÃ\u00ada MuÃ±oz")],
        ),
    ),
    Case(
        "quoted_newlines",
        "pos_members",
        {
            "members.csv": csv_bytes(
                MEMBER_HEADER,
                member("C1", '"Ana\nMaría"', '"Pérez, Jr."'),  # lines 2-3
                member("C2", "Bea\u2028Luz", "Ruiz"),  # a line separator is not a line end
                member("C3", '"Carla\r\nLuz"', "Gil"),  # lines 5-6
                member("C4", "Dora", "Sanz", updated_at="yesterday"),  # line 7
            )
        },
        quarantined={("members.csv", 7): ("bad_type", "updated_at is not a timestamp")},
        loaded=(
            "select source_line, first_name, last_name from raw.pos_members",
            [
                (2, "Ana\nMaría", "Pérez, Jr."),
                (4, "Bea\u2028Luz", "Ruiz"),
                (5, "Carla\r\nLuz", "Gil"),
            ],
        ),
    ),
    Case(
        "missing_required_column",
        "pos_tickets",
        {
            "a.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET),
            "b.csv": csv_bytes(
                TICKET_HEADER.replace(",sku", ""), "T2,1,S1,2025-03-01 10:00:00,C1,1,5,0,5,,"
            ),
        },
        refused=(
            f"pos/tickets/date={DAY}/b.csv",
            "missing required column sku; the header has: ticket_id, line_number, store_id, "
            "sold_at, card_id, quantity, unit_price, discount_amount, line_amount, coupon_code, "
            "original_ticket_id",
        ),
    ),
    Case(
        "extra_and_reordered_columns",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                "Cashier,SKU,Ticket_ID,line_number,store_id,sold_at,quantity,unit_price,"
                "line_amount,,Notes",
                "Eva,P9,T1,1,S1,2025-03-01 10:00:00,3,2.50,7.50,x,=1+1",
            )
        },
        loaded=(
            "select source_line, ticket_id, sku, quantity, line_amount, card_id "
            "from raw.pos_tickets",
            [(2, "T1", "P9", 3, Decimal("7.50"), None)],
        ),
    ),
    Case(
        # Zero bytes, or only the byte-order mark of a spreadsheet's empty sheet: no rows.
        "empty_file",
        "pos_tickets",
        {"empty.csv": b"", "bom_only.csv": UTF8_BOM},
        loaded=("select count(*) from raw.pos_tickets", [(0,)]),
    ),
    Case(
        "empty_generic_file",
        "transactions",
        {
            "empty.csv": b"",
            "sales.csv": csv_bytes(SALES_HEADER, "1,17850,2025-03-01 10:00:00,10.50"),
        },
        loaded=(
            "select source_file, source_line, amount from raw.transactions",
            [("sales/sales.csv", 2, Decimal("10.5000"))],
        ),
    ),
    Case(
        "header_only",
        "pos_members",
        {"members.csv": csv_bytes(MEMBER_HEADER)},
        loaded=("select count(*) from raw.pos_members", [(0,)]),
    ),
    Case(
        "truncated_last_line",
        "pos_tickets",
        {
            "a.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET)
            + b"T2,1,S1,2025-03-01 1",  # cut mid-field, no final newline
            "b.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET.replace("T1", "T3"))
            + b'T4,1,S1,2025-03-01 10:00:00,C1,"P1',  # cut inside a quoted field
        },
        quarantined={
            ("a.csv", 3): ("malformed_record", "expected 12 columns, found 4"),
            ("b.csv", 3): ("malformed_record", "quote"),
        },
        loaded=(
            "select source_file, source_line, ticket_id from raw.pos_tickets",
            [
                (f"pos/tickets/date={DAY}/a.csv", 2, "T1"),
                (f"pos/tickets/date={DAY}/b.csv", 2, "T3"),
            ],
        ),
    ),
    Case(
        # The same file dropped twice in a day folder: its sales count once.
        "duplicate_file_delivered_twice",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET),
            "tickets_copy.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET),
        },
        quarantined={
            ("tickets_copy.csv", 2): ("duplicate_row", f"date={DAY}/tickets.csv line 2"),
        },
        loaded=("select count(*), sum(line_amount) from raw.pos_tickets", [(1, Decimal("20.00"))]),
    ),
    Case(
        "duplicate_file_generic",
        "transactions",
        {
            "sales.csv": csv_bytes(SALES_HEADER, "1,17850,2025-03-01 10:00:00,10.50"),
            "sales (1).csv": csv_bytes(SALES_HEADER, "1,17850,2025-03-01 10:00:00,10.50"),
        },
        quarantined={
            ("sales.csv", 2): ("duplicate_row", "the file has the same content as sales/sales (1)"),
        },
        loaded=("select count(*), sum(amount) from raw.transactions", [(1, Decimal("10.5000"))]),
    ),
    Case(
        "duplicate_rows",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER, GOOD_TICKET, GOOD_TICKET.replace("T1,1", "T1,2"), GOOD_TICKET
            )
        },
        quarantined={("tickets.csv", 4): ("duplicate_row", "same ticket_id, line_number")},
        loaded=(
            "select source_line, ticket_id, line_number from raw.pos_tickets",
            [(2, "T1", 1), (3, "T1", 2)],
        ),
    ),
    Case(
        "dates_in_other_formats",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "T1,1,S1,2025-03-01T10:00:00,C1,P1,1,10.00,0,10.00,,",  # ISO with a T: fine
                "T2,1,S1,01/03/2025 10:00,C1,P1,1,10.00,0,10.00,,",  # day first: ambiguous
                "T3,1,S1,2025-02-30 10:00:00,C1,P1,1,10.00,0,10.00,,",  # no such day
                "T4,1,S1,1 March 2025,C1,P1,1,10.00,0,10.00,,",
            )
        },
        quarantined={
            ("tickets.csv", 3): ("bad_type", "sold_at is not a timestamp: 01/03/2025 10:00"),
            ("tickets.csv", 4): ("bad_type", "sold_at is not a timestamp: 2025-02-30"),
            ("tickets.csv", 5): ("bad_type", "sold_at is not a timestamp: 1 March 2025"),
        },
        loaded=(
            "select source_line, sold_at from raw.pos_tickets",
            [(2, datetime(2025, 3, 1, 10))],
        ),
    ),
    Case(
        # A configured format reads day-first dates; a row in another format is then wrong.
        "dates_day_first_with_configured_format",
        "transactions",
        {
            "sales.csv": csv_bytes(
                SALES_HEADER, "1,17850,01/03/2025 10:00,10.50", "2,17850,2025-03-01 10:00:00,5"
            )
        },
        quarantined={("sales.csv", 3): ("bad_type", "ordered_at is not a timestamp")},
        loaded=(
            "select source_line, ordered_at from raw.transactions",
            [(2, datetime(2025, 3, 1, 10))],
        ),
        generic=GenericFileSpec("sales/*.csv", SALES_COLUMNS, timestamp_format="%d/%m/%Y %H:%M"),
    ),
    Case(
        "dates_out_of_range",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "T1,1,S1,1999-03-01 10:00:00,C1,P1,1,10.00,0,10.00,,",
                "T2,1,S1,2030-03-01 10:00:00,C1,P1,1,10.00,0,10.00,,",
                "T3,1,S1,2025-03-02 00:30:00,C1,P1,1,10.00,0,10.00,,",  # the next day: a late till
            )
        },
        quarantined={
            ("tickets.csv", 2): ("date_out_of_range", "sold_at 1999-03-01 is outside"),
            ("tickets.csv", 3): ("date_out_of_range", "sold_at 2030-03-01 is outside"),
        },
        loaded=("select source_line, ticket_id from raw.pos_tickets", [(4, "T3")]),
    ),
    Case(
        # Offsets become Europe/Madrid wall-clock time, across both DST changes of 2025.
        "timezone_offsets_and_dst_days",
        "shopify_orders",
        {
            "orders.jsonl": json_lines(
                order(1, created_at="2025-03-30T01:30:00Z"),  # after the spring gap: 03:30
                order(2, created_at="2025-10-26T00:30:00Z"),  # first 02:30 (CEST)
                order(3, created_at="2025-10-26T01:30:00Z"),  # second 02:30 (CET)
                order(4, created_at="2025-10-26T09:00:00-0300"),
                order(5, created_at="2025-10-26 10:00:00+01"),  # PostgreSQL's offset
                order(6, created_at="2025-10-26 10:00:00 UTC"),
                order(7, created_at="2025-10-26T10:00:00+01:00[Europe/Madrid]"),
            )
        },
        quarantined={("orders.jsonl", 7): ("bad_type", "created_at is not a timestamp")},
        loaded=(
            "select order_id, created_at from raw.shopify_orders",
            [
                (1, datetime(2025, 3, 30, 3, 30)),
                (2, datetime(2025, 10, 26, 2, 30)),
                (3, datetime(2025, 10, 26, 2, 30)),
                (4, datetime(2025, 10, 26, 13, 0)),
                (5, datetime(2025, 10, 26, 10, 0)),
                (6, datetime(2025, 10, 26, 11, 0)),
            ],
        ),
        day=date(2025, 10, 26),
    ),
    Case(
        # POS clocks write local time: kept as written, even in the spring gap or twice-run hour.
        "local_times_on_dst_days",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "T1,1,S1,2025-03-30 02:30:00,C1,P1,1,10.00,0,10.00,,",
                "T2,1,S1,2025-03-30T03:30:00+02:00,C1,P1,1,10.00,0,10.00,,",
            )
        },
        loaded=(
            "select source_line, sold_at from raw.pos_tickets",
            [(2, datetime(2025, 3, 30, 2, 30)), (3, datetime(2025, 3, 30, 3, 30))],
        ),
        day=date(2025, 3, 30),
    ),
    Case(
        "negative_prices",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "T1,1,S1,2025-03-01 10:00:00,C1,P1,1,-5.00,0,-5.00,,",
                "R1,1,S1,2025-03-01 11:00:00,C1,P1,-1,5.00,0,-5.00,,T0",  # a return: fine
            )
        },
        quarantined={("tickets.csv", 2): ("negative_amount", "unit_price -5.00 breaks value >= 0")},
        loaded=(
            "select source_line, quantity, line_amount from raw.pos_tickets",
            [(3, -1, Decimal("-5.00"))],
        ),
    ),
    Case(
        "zero_quantities",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER, GOOD_TICKET, "T2,1,S1,2025-03-01 10:00:00,C1,P1,0,10.00,0,0.00,,"
            )
        },
        quarantined={("tickets.csv", 3): ("zero_quantity", "quantity 0 breaks value <> 0")},
        loaded=("select source_line from raw.pos_tickets", [(2,)]),
    ),
    Case(
        # A return without a receipt still nets revenue; the original may be on another day.
        "returns_with_no_original_ticket",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "R1,1,S1,2025-03-01 10:00:00,C1,P1,-1,10.00,0,-10.00,,",
                "R2,1,S1,2025-03-01 11:00:00,,P1,-2,10.00,0,-20.00,,T404",
            )
        },
        loaded=(
            "select source_line, line_amount, original_ticket_id from raw.pos_tickets",
            [(2, Decimal("-10.00"), None), (3, Decimal("-20.00"), "T404")],
        ),
    ),
    Case(
        "refund_larger_than_the_order",
        "shopify_orders",
        {
            "orders.jsonl": json_lines(
                order(1, refunds=refund("10.00")),  # a full refund: fine
                order(2, refunds=refund("50.00")),
            )
        },
        quarantined={
            ("orders.jsonl", 2): (
                "refund_exceeds_order",
                "refund line subtotals 50.00 exceed subtotal_price 10.00",
            )
        },
        loaded=(
            "select order_id, (select count(*) from raw.shopify_refund_lines), "
            "(select count(*) from raw.shopify_order_lines) from raw.shopify_orders",
            [(1, 1, 1)],
        ),
    ),
    Case(
        # Ingest cannot know the catalogue (it may come later); dim_products adds unknown SKUs.
        "unknown_skus",
        "pos_tickets",
        {"tickets.csv": csv_bytes(TICKET_HEADER, GOOD_TICKET.replace(",P1,", ",NOT-IN-CATALOG,"))},
        loaded=("select source_line, sku from raw.pos_tickets", [(2, "NOT-IN-CATALOG")]),
    ),
    Case(
        "malformed_json_lines",
        "shopify_orders",
        {
            "orders.jsonl": json_lines(
                order(1),
                "{not json",
                order(2)[:70],  # truncated
                "",  # blank: not a record
                "[1, 2]",
                "null",
                order(3, line_items="oops"),  # would load with no lines, misstating revenue
                order(4, customer=7),
                order(5, id="abc"),
            )
        },
        quarantined={
            ("orders.jsonl", 2): ("malformed_record", "not valid JSON"),
            ("orders.jsonl", 3): ("malformed_record", "not valid JSON"),
            ("orders.jsonl", 5): ("malformed_record", "not a JSON object"),
            ("orders.jsonl", 6): ("malformed_record", "not a JSON object"),
            ("orders.jsonl", 7): ("bad_type", "line_items is not a JSON array"),
            ("orders.jsonl", 8): ("bad_type", "customer is not a JSON object"),
            ("orders.jsonl", 9): ("bad_type", "order_id is not an integer: abc"),
        },
        loaded=("select source_line, order_id from raw.shopify_orders", [(1, 1)]),
    ),
    Case(
        # "1,234.50" may be unambiguous, "12,50" is not: neither is guessed at.
        "shopify_money_strings_with_commas",
        "shopify_orders",
        {
            "orders.jsonl": json_lines(
                order(1, subtotal_price="1234.50"),
                order(2, subtotal_price="1,234.50"),
                order(3, subtotal_price="12,50"),
                order(4, subtotal_price=12.5),  # a JSON number instead of a string: fine
            )
        },
        quarantined={
            ("orders.jsonl", 2): ("bad_type", "subtotal_price is not a number: 1,234.50"),
            ("orders.jsonl", 3): ("bad_type", "subtotal_price is not a number: 12,50"),
        },
        loaded=(
            "select order_id, subtotal_price from raw.shopify_orders",
            [(1, Decimal("1234.50")), (4, Decimal("12.50"))],
        ),
    ),
    Case(
        "giant_values",
        "pos_tickets",
        {
            "tickets.csv": csv_bytes(
                TICKET_HEADER,
                "T1,1,S1,2025-03-01 10:00:00,C1,P1,99999999999,1.00,0,1.00,,",
                "T2,1,S1,2025-03-01 10:00:00,C1,P1,1,1e30,0,1.00,,",
                "T3,1,S1,2025-03-01 10:00:00,C1,P1,1,1.00,0,99999999999999999999.99,,",
                # Each fits its column; their product overflowed the check (a traceback before).
                "T4,1,S1,2025-03-01 10:00:00,C1,P1,2000000000,9999999999999999.99,0,1.00,,",
                "T5,1,S1,2025-03-01 10:00:00,C1,P1,1,9999999999999999.99,0,9999999999999999.99,,",
            )
        },
        quarantined={
            ("tickets.csv", 2): ("bad_type", "quantity is not an integer: 99999999999"),
            ("tickets.csv", 3): ("bad_type", "unit_price is not a number: 1e30"),
            ("tickets.csv", 4): ("bad_type", "line_amount is not a number"),
            ("tickets.csv", 5): ("amount_mismatch", "line_amount is not quantity x unit_price"),
        },
        loaded=(
            "select source_line, line_amount from raw.pos_tickets",
            [(6, Decimal("9999999999999999.99"))],
        ),
    ),
    Case(
        "giant_values_shopify",
        "shopify_orders",
        {
            "orders.jsonl": json_lines(
                order(1),
                order(99999999999999999999999),
                order(3, total_price=1e308),
                order(4, first_name="x" * 3_000_000),  # a huge field Shopify would not send
            )
        },
        quarantined={
            ("orders.jsonl", 2): (
                "bad_type",
                "order_id is not an integer: 99999999999999999999999",
            ),
            ("orders.jsonl", 3): ("bad_type", "total_price is not a number: 1e+308"),
        },
        loaded=("select order_id from raw.shopify_orders", [(1,), (4,)]),
    ),
    Case(
        "giant_text_field",
        "pos_members",
        {
            "members.csv": csv_bytes(
                MEMBER_HEADER, member("C1", "x" * 3_000_000, "Big"), member("C2", "Ana", "Gil")
            )
        },
        quarantined={("members.csv", 2): ("malformed_record", "Maximum line size")},
        loaded=("select source_line, card_id from raw.pos_members", [(3, "C2")]),
    ),
    Case(
        # Data, loaded as sent: neutralising formulas is the exports' job, at write time.
        "csv_injection_in_names",
        "pos_members",
        {
            "members.csv": csv_bytes(
                MEMBER_HEADER,
                member("C1", '"=HYPERLINK(""http://x.example/?a=1,2"",""Click"")"', "@SUM(1+1)"),
                member("C2", "+cmd|' /C calc'!A0", "-2+3"),
            )
        },
        loaded=(
            "select source_line, first_name, last_name from raw.pos_members",
            [
                (2, '=HYPERLINK("http://x.example/?a=1,2","Click")', "@SUM(1+1)"),
                (3, "+cmd|' /C calc'!A0", "-2+3"),
            ],
        ),
    ),
    Case(
        "csv_injection_and_mojibake_in_shopify_names",
        "shopify_customers",
        {
            "customers.jsonl": json_lines(
                customer(1, first_name='=HYPERLINK("http://x.example","Click")'),
                customer(2, first_name="JosÃ©", last_name="NÃºÃ±ez"),
            )
        },
        loaded=(
            "select customer_id, first_name, last_name from raw.shopify_customers",
            [(1, '=HYPERLINK("http://x.example","Click")', "García"), (2, "JosÃ©", "NÃºÃ±ez")],
        ),
    ),
]


def folder_of(case: Case, landing: Path) -> Path:
    if case.source == "transactions":
        return landing / "sales"
    return landing / SOURCES_BY_NAME[case.source].landing_path / f"date={case.day}"


def load(con, case: Case, landing: Path) -> LoadResult:
    ctx = IngestContext(landing_dir=landing, pseudonym_key=KEY)
    if case.source == "transactions":
        spec = case.generic or GenericFileSpec("sales/*.csv", SALES_COLUMNS)
        return load_generic_transactions(con, spec, date(2025, 1, 1), date(2025, 12, 31), ctx)
    source_dir = folder_of(case, landing).parent
    if case.source == "shopify_orders":
        return load_shopify_orders(con, source_dir, case.day, case.day, ctx)
    if case.source == "shopify_customers":
        return load_shopify_customers(con, source_dir, case.day, case.day, ctx)
    return load_csv_source(con, SOURCES_BY_NAME[case.source], source_dir, case.day, case.day, ctx)


def decoded(data: bytes) -> str:
    body = data.removeprefix(UTF8_BOM)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("cp1252")


def count_records(data: bytes, name: str, delimiter: str = ",") -> int:
    """Records in a file, counted without the loaders' code: JSON lines, or CSV rows minus a header."""
    text = decoded(data)
    if name.endswith(".jsonl"):
        return sum(1 for line in text.split("\n") if line.strip())
    limit = csv.field_size_limit(sys.maxsize)  # a giant field is still one record
    try:
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    finally:
        csv.field_size_limit(limit)
    return max(len(rows) - 1, 0)


def assert_every_record_is_accounted_for(
    con, source: str, files: dict[str, int], prefix: str = ""
) -> None:
    """Each file is logged; per file, read = loaded + quarantined = its records; the log agrees
    with the rows actually in raw and quarantine."""
    log = con.execute(
        "select source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
        "from ops.ingest_log where source = ? group by all",
        [source],
    ).fetchall()
    logged = {name: (read, loaded, quarantined) for name, read, loaded, quarantined in log}
    assert set(logged) == {prefix + name for name in files}
    for name, records in files.items():
        read, loaded, quarantined = logged[prefix + name]
        assert read == loaded + quarantined == records, name
        in_raw, in_quarantine = con.execute(
            f"select (select count(*) from raw.{source} where source_file = $1), "
            f"(select count(*) from quarantine.{source} where source_file = $1)",
            [prefix + name],
        ).fetchone()
        assert (in_raw, in_quarantine) == (loaded, quarantined), name


def test_the_corpus_has_one_case_per_item_with_a_checked_outcome():
    assert len({case.id for case in CASES}) == len(CASES)
    for case in CASES:
        assert (case.refused is None) != (case.loaded is None), case.id


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_bad_input(con, tmp_path: Path, case: Case):
    landing = tmp_path / "landing"
    folder = folder_of(case, landing)
    folder.mkdir(parents=True)
    for name, data in case.files.items():
        (folder / name).write_bytes(data)
    quarantine_table = f"quarantine.{case.source}"

    if case.refused is not None:
        with pytest.raises(SourceFileError) as error:
            load(con, case, landing)
        file_name, problem = case.refused
        assert str(error.value) == f"{file_name}: {problem}"
        assert "\n" not in str(error.value)
        leftovers = con.execute(
            f"select (select count(*) from raw.{case.source}), "
            f"(select count(*) from {quarantine_table}), (select count(*) from ops.ingest_log)"
        ).fetchone()
        assert leftovers == (0, 0, 0)
        return

    result = load(con, case, landing)
    rows = con.execute(
        f"select source_file, source_line, reason_code, reason_detail from {quarantine_table}"
    ).fetchall()
    found = {(file.rsplit("/", 1)[1], line): (code, detail) for file, line, code, detail in rows}
    assert len(found) == len(rows)
    assert {k: code for k, (code, _) in found.items()} == {
        k: code for k, (code, _) in case.quarantined.items()
    }
    for key, (_, fragment) in case.quarantined.items():
        assert fragment in found[key][1], (key, found[key][1])
    query, expected = case.loaded
    assert con.execute(f"{query} order by all").fetchall() == sorted(expected)

    prefix = "sales/" if case.source == "transactions" else f"{folder.relative_to(landing)}/"
    records = {name: count_records(data, name, case.delimiter) for name, data in case.files.items()}
    assert_every_record_is_accounted_for(con, case.source, records, prefix)
    assert result.rows_read == sum(records.values())
    assert result.rows_quarantined == len(case.quarantined)


# What each fault of `loyalty generate --dirty-rate` must come to; a mis-decoded name loads.
FAULT_OUTCOMES = {
    "bad_date": "bad_type",
    "negative_price": "negative_amount",
    "missing_id": "missing_required",
    "duplicate_row": "duplicate_row",
    "mojibake": None,
}


def test_generated_dirty_landing_is_loaded_or_quarantined_row_by_row(con, tmp_path: Path):
    landing = tmp_path / "landing"
    start, end = date(2025, 3, 24), date(2025, 4, 6)  # across the spring DST change
    generate(landing, customers=300, start=start, end=end, seed=11, dirty_rate=0.05)
    ctx = IngestContext(landing_dir=landing, pseudonym_key=KEY)
    loaders: list[tuple[str, Callable[[], LoadResult]]] = []
    for source in FILE_SOURCES:
        source_dir = landing / source.landing_path
        if source.format == "jsonl":
            loaders.append(
                (source.name, lambda d=source_dir: load_shopify_customers(con, d, start, end, ctx))
            )
        else:
            loaders.append(
                (
                    source.name,
                    lambda s=source, d=source_dir: load_csv_source(con, s, d, start, end, ctx),
                )
            )
    orders_dir = landing / SHOPIFY_ORDERS.landing_path
    loaders.append(
        (SHOPIFY_ORDERS.name, lambda: load_shopify_orders(con, orders_dir, start, end, ctx))
    )

    for name, loader in loaders:
        loader()
        source = SOURCES_BY_NAME[name]
        files = sorted((landing / source.landing_path).glob(f"date=*/{source.file_glob}"))
        assert files, name
        records = {
            path.relative_to(landing).as_posix(): count_records(path.read_bytes(), path.name)
            for path in files
        }
        assert_every_record_is_accounted_for(con, name, records)

    faults = pd.read_parquet(landing / "_truth" / "dirty_rows.parquet")
    assert set(faults["fault"]) == set(FAULT_OUTCOMES)  # every kind of fault is exercised
    tables = [source.name for source in (*FILE_SOURCES, SHOPIFY_ORDERS)]
    quarantined = {
        (file, line): code
        for file, line, code in con.execute(
            " union all ".join(
                f"select source_file, source_line, reason_code from quarantine.{t}" for t in tables
            )
        ).fetchall()
    }
    loaded = set(
        con.execute(
            " union all ".join(f"select source_file, source_line from raw.{t}" for t in tables)
        ).fetchall()
    )
    valid = {reason.code for reason in QUARANTINE_REASONS}
    assert set(quarantined.values()) <= valid
    for fault in faults.itertuples():
        where = (fault.file, fault.line)
        expected = FAULT_OUTCOMES[fault.fault]
        if expected is None:
            assert where in loaded and where not in quarantined, fault
        else:
            assert quarantined.get(where) == expected, fault
    # A clean row is never quarantined: the faults are the whole of the quarantine.
    assert set(quarantined) == {
        (f.file, f.line) for f in faults.itertuples() if FAULT_OUTCOMES[f.fault] is not None
    }
