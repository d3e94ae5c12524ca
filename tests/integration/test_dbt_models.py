"""The dbt project built over a small hand-made warehouse, and over empty raw tables.

The fixture is what ingest would have written for a few days of a small pharmacy chain: tickets
with a return to its original and an orphan return, an anonymous ticket, a file delivered twice,
member versions, Shopify orders with a refund, a cancellation and re-delivered versions, customers
matching cards by email and by phone (written differently), an order-only customer, a catalogue
with an unknown sku, and a generic flat-sales file. Each test asserts the marts' values.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_runs import DBT_DIR, DBT_EXECUTABLE, dbt_arguments

from dagster_project.config import settings_from_dict
from dagster_project.defs.transform.dbt_assets import settings_vars
from dagster_project.lib.contacts import normalize_email, phone_e164
from dagster_project.lib.environment import dbt_environment, duckdb_limits_environment
from dagster_project.lib.privacy import is_personal_column, keyed_hash
from dagster_project.lib.sources.specs import SOURCES_BY_NAME
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables, quote_ident

D = Decimal
ts = datetime.fromisoformat


# ---------------------------------------------------------------------------------------------
# Raw rows, as ingest writes them (keys are stand-ins for the keyed hashes)
# ---------------------------------------------------------------------------------------------

# Hand-laid rows read better as tables than one field per line.
# fmt: off


def _file(
    table: str, day: str, file_name: str, records: Iterable[Mapping[str, Any]]
) -> list[dict[str, Any]]:
    """Rows of one delivered file, with their lineage (CSV records start at line 2)."""
    first_line = 1 if SOURCES_BY_NAME[table].format == "jsonl" else 2
    folder = SOURCES_BY_NAME[table].landing_path or "sales"
    return [
        {
            "partition_date": date.fromisoformat(day),
            "source_file": f"{folder}/date={day}/{file_name}",
            "source_line": first_line + i,
            **record,
        }
        for i, record in enumerate(records)
    ]


STORES = _file(
    "pos_stores",
    "2025-03-01",
    "stores.csv",
    [
        {"store_id": "S01", "store_name": "Farmacia Centro", "city": "Madrid",
         "province": "Madrid", "postal_code": "28013", "opened_on": date(2010, 4, 1)},
        {"store_id": "S02", "store_name": "Farmacia Gràcia", "city": "Barcelona",
         "province": "Barcelona", "postal_code": "08012", "opened_on": date(2015, 9, 15)},
    ],
)

PRODUCTS = _file(
    "catalog_products",
    "2025-02-28",
    "products.csv",
    [
        {"sku": "P001", "product_name": "Crema hidratante 50 ml", "category": "Dermocosmética",
         "is_prescription": False, "list_price": D("12.50"), "vat_rate": D("21"), "is_active": True},
        {"sku": "P003", "product_name": "Protector solar SPF50", "category": "Dermocosmética",
         "is_prescription": False, "list_price": D("17.90"), "vat_rate": D("21"), "is_active": True},
    ],
) + _file(
    "catalog_products",
    "2025-03-01",
    "products.csv",
    [
        {"sku": "P001", "product_name": "Crema hidratante 50 ml", "category": "Dermocosmética",
         "is_prescription": False, "list_price": D("12.50"), "vat_rate": D("21"), "is_active": True},
        {"sku": "P002", "product_name": "Ibuprofeno 600 mg 40 comp.", "category": "Medicamentos",
         "subcategory": "Analgésicos", "is_prescription": True, "list_price": D("4.20"),
         "vat_rate": D("4"), "is_active": True},
        {"sku": "P003", "product_name": "Protector solar SPF50", "category": "Dermocosmética",
         "is_prescription": False, "list_price": D("18.90"), "vat_rate": D("21"), "is_active": True},
        {"sku": "P004", "product_name": "Vitamina C 1000 mg", "category": "Nutrición",
         "is_prescription": False, "list_price": D("9.95"), "vat_rate": D("10"), "is_active": True},
    ],
)

_ANA_CARD = {
    "card_id": "1001", "card_key": "ck_1001", "enrolled_on": date(2024, 5, 10),
    "first_name": "Ana", "last_name": "García", "birth_date": date(1985, 7, 14),
    "email": "Ana.Garcia@example.com ", "email_normalized": "ana.garcia@example.com",
    "is_email_valid": True, "phone": "612 345 678", "phone_e164": "+34612345678",
    "postal_code": "28001", "marital_status": "married", "home_store_id": "S01",
    "sms_opt_in": False,
}
_DAVID_CARD = {
    "card_id": "1004", "card_key": "ck_1004", "enrolled_on": date(2022, 11, 3),
    "updated_at": ts("2022-11-03 17:00:00"), "first_name": "David", "last_name": "Sanz",
    "birth_date": date(1970, 1, 30), "email": "david@example.com",
    "email_normalized": "david@example.com", "is_email_valid": True, "postal_code": "41004",
    "marital_status": "Widowed", "home_store_id": "S02", "email_opt_in": False,
}
MEMBERS = _file(
    "pos_members",
    "2024-05-10",
    "members.csv",
    [
        {**_ANA_CARD, "updated_at": ts("2024-05-10 10:00:00"), "email_opt_in": False},
        _DAVID_CARD,
    ],
) + _file(
    "pos_members",
    "2025-02-01",
    "members.csv",
    [
        # Ana gives her consent; David's record is delivered again unchanged.
        {**_ANA_CARD, "updated_at": ts("2025-02-01 09:30:00"), "email_opt_in": True},
        _DAVID_CARD,
        {"card_id": "1002", "card_key": "ck_1002", "enrolled_on": date(2023, 1, 15),
         "updated_at": ts("2023-01-15 12:00:00"), "first_name": "Beatriz", "last_name": "López",
         "birth_date": date(1992, 3, 2), "phone": "+34 622-111-222", "phone_e164": "+34622111222",
         "postal_code": "8012", "marital_status": "single", "home_store_id": "S02",
         "is_email_valid": False, "email_opt_in": False},
        {"card_id": "1003", "card_key": "ck_1003", "enrolled_on": date(2025, 1, 20),
         "updated_at": ts("2025-01-20 16:45:00"), "first_name": "Carlos", "last_name": "Ruiz",
         "email": "carlos@example.com", "email_normalized": "carlos@example.com",
         "is_email_valid": True, "postal_code": "28045", "home_store_id": "S01",
         "email_opt_in": True},
    ],
)


def _ticket_line(ticket: str, line: int, store: str, at: str, card: str | None, sku: str,
                 qty: int, price: str, discount: str | None = None, **extra: Any) -> dict:
    discount_amount = D(discount) if discount else None
    return {
        "ticket_id": ticket, "line_number": line, "store_id": store, "sold_at": ts(at),
        "card_id": card, "card_key": f"ck_{card}" if card else None, "sku": sku,
        "quantity": qty, "unit_price": D(price), "discount_amount": discount_amount,
        "line_amount": qty * D(price) - (discount_amount or 0), **extra,
    }


_T1001 = [
    _ticket_line("T1001", 1, "S01", "2025-03-01 10:00:00", "1001", "P001", 2, "12.50", "2.50",
                 coupon_code="SPRING5"),
    _ticket_line("T1001", 2, "S01", "2025-03-01 10:00:00", "1001", "P002", 1, "4.20",
                 coupon_code="SPRING5"),
]
TICKETS = _file(
    "pos_tickets",
    "2025-03-01",
    "tickets_S01.csv",
    [
        *_T1001,
        _ticket_line("T1002", 1, "S01", "2025-03-01 11:00:00", None, "P004", 1, "9.95"),
    ],
) + _file(
    "pos_tickets",
    "2025-03-02",
    "tickets_S01_resent.csv",
    # The store resent the previous day's file: the same lines must count once.
    _T1001,
) + _file(
    "pos_tickets",
    "2025-03-06",
    "tickets.csv",
    [
        # Ana returns one cream of T1001, at its discounted price.
        _ticket_line("R1003", 1, "S01", "2025-03-05 12:00:00", "1001", "P001", -1, "12.50",
                     "-1.25", original_ticket_id="T1001"),
        # Beatriz returns a sun cream bought before the history begins: an orphan return.
        _ticket_line("R1004", 1, "S02", "2025-03-06 10:00:00", "1002", "P003", -1, "18.90",
                     original_ticket_id="T0999"),
        _ticket_line("T1005", 1, "S02", "2025-03-06 10:05:00", "1002", "P003", 1, "18.90"),
        _ticket_line("T1005", 2, "S02", "2025-03-06 10:05:00", "1002", "P999", 3, "1.50"),
        # A store missing from the store master.
        _ticket_line("T1006", 1, "S03", "2025-03-06 18:30:00", "1004", "P004", 2, "9.95"),
    ],
)

SHOPIFY_CUSTOMERS = _file(
    "shopify_customers",
    "2025-02-20",
    "customers.jsonl",
    [
        {"customer_id": 7001, "customer_key": "sk_7001", "email": "ana.garcia@example.com",
         "email_normalized": "ana.garcia@example.com", "is_email_valid": True,
         "phone": "+34699000001", "phone_e164": "+34699000001", "first_name": "Ana",
         "last_name": "García", "created_at": ts("2025-02-20 18:00:00"),
         "updated_at": ts("2025-02-20 18:00:00"), "state": "enabled", "verified_email": True,
         "email_marketing_consent_state": "subscribed",
         "email_marketing_consent_updated_at": ts("2025-02-20 18:00:00"),
         "default_address_zip": "28001", "default_address_country_code": "ES"},
        {"customer_id": 7002, "customer_key": "sk_7002", "email": "bea.online@example.com",
         "email_normalized": "bea.online@example.com", "is_email_valid": True,
         "phone": "622111222", "phone_e164": "+34622111222", "first_name": "Bea",
         "last_name": "López", "created_at": ts("2025-02-21 20:00:00"),
         "updated_at": ts("2025-02-21 20:00:00"),
         "email_marketing_consent_state": "not_subscribed", "default_address_zip": "08012",
         "default_address_country_code": "ES"},
        {"customer_id": 7003, "customer_key": "sk_7003", "email": "elena@example.com",
         "email_normalized": "elena@example.com", "is_email_valid": True,
         "first_name": "Elena", "last_name": "Martín", "created_at": ts("2025-02-22 09:00:00"),
         "updated_at": ts("2025-02-22 09:00:00"), "email_marketing_consent_state": "subscribed",
         "email_marketing_consent_updated_at": ts("2025-02-22 09:00:00"),
         "default_address_zip": "46001", "default_address_country_code": "ES"},
    ],
) + _file(
    "shopify_customers",
    "2025-03-05",
    "customers.jsonl",
    [
        # Elena moved to Seville.
        {"customer_id": 7003, "customer_key": "sk_7003", "email": "elena@example.com",
         "email_normalized": "elena@example.com", "is_email_valid": True,
         "first_name": "Elena", "last_name": "Martín", "created_at": ts("2025-02-22 09:00:00"),
         "updated_at": ts("2025-03-05 08:00:00"), "email_marketing_consent_state": "subscribed",
         "email_marketing_consent_updated_at": ts("2025-02-22 09:00:00"),
         "default_address_zip": "41001", "default_address_country_code": "ES"},
    ],
)


def _order(order_id: int, customer: int | None, created: str, updated: str, subtotal: str,
           **extra: Any) -> dict:
    # The nested customer's contacts are normalised at ingest, with the same library calls.
    email = normalize_email(extra.get("customer_email"))
    return {
        "order_id": order_id, "order_name": f"#{order_id}", "created_at": ts(created),
        "updated_at": ts(updated), "processed_at": ts(created), "currency": "EUR",
        "financial_status": "paid", "source_name": "web", "taxes_included": True,
        "subtotal_price": D(subtotal), "total_price": D(subtotal) + D("3.95"),
        "customer_id": customer, "customer_key": f"sk_{customer}" if customer else None,
        "customer_email_normalized": email,
        "customer_is_email_valid": email is not None if extra.get("customer_email") else None,
        "customer_phone_e164": phone_e164(extra.get("customer_phone")),
        **extra,
    }


def _order_line(order_id: int, updated: str, line_item_id: int, sku: str, qty: int, price: str,
                discount: str = "0.00") -> dict:
    return {
        "order_id": order_id, "order_updated_at": ts(updated), "line_item_id": line_item_id,
        "sku": sku, "title": sku, "quantity": qty, "price": D(price),
        "total_discount": D(discount),
    }


def _orders_file(day: str, versions: list[tuple[dict, list[dict], list[dict]]]):
    """An orders file: each version's order, line items and refund lines share file and line."""
    orders = _file("shopify_orders", day, "orders.jsonl", [order for order, _, _ in versions])
    lines: list[dict] = []
    refunds: list[dict] = []
    for order, (_, items, refund_items) in zip(orders, versions, strict=True):
        lineage = {k: order[k] for k in ("partition_date", "source_file", "source_line")}
        lines += [{**lineage, **item} for item in items]
        refunds += [{**lineage, **item} for item in refund_items]
    return orders, lines, refunds


_5001_LINES = [
    _order_line(5001, "2025-03-01 18:00:00", 9001, "P001", 2, "12.50", "2.50"),
    _order_line(5001, "2025-03-01 18:00:00", 9002, "P003", 1, "18.90"),
]
_ORDERS_DAY1 = _orders_file(
    "2025-03-01",
    [
        (_order(5001, 7001, "2025-03-01 18:00:00", "2025-03-01 18:00:00", "41.40",
                customer_email="ana.garcia@example.com", discount_codes="SPRING5"),
         _5001_LINES, []),
        (_order(5002, 7002, "2025-03-01 19:00:00", "2025-03-01 19:00:00", "9.95",
                customer_phone="+34622111222"),
         [_order_line(5002, "2025-03-01 19:00:00", 9003, "P004", 1, "9.95")], []),
        # A guest checkout.
        (_order(5003, None, "2025-03-01 21:00:00", "2025-03-01 21:00:00", "17.01",
                email="guest@example.com", discount_codes="WELCOME10"),
         [_order_line(5003, "2025-03-01 21:00:00", 9004, "P003", 1, "18.90", "1.89")], []),
    ],
)
_ORDERS_DAY2 = _orders_file(
    "2025-03-02",
    [
        # 5002 is cancelled the next day.
        (_order(5002, 7002, "2025-03-01 19:00:00", "2025-03-02 08:00:00", "9.95",
                customer_phone="+34622111222", cancelled_at=ts("2025-03-02 08:00:00"),
                cancel_reason="customer", financial_status="voided"),
         [_order_line(5002, "2025-03-02 08:00:00", 9003, "P004", 1, "9.95")], []),
        # A customer never delivered in the customers file, matching David's card by email.
        (_order(5004, 7004, "2025-03-02 12:00:00", "2025-03-02 12:00:00", "12.50",
                customer_email=" DAVID@example.com", customer_phone="+34 600 000 000"),
         [_order_line(5004, "2025-03-02 12:00:00", 9005, "P001", 1, "12.50")], []),
    ],
)
_ORDERS_DAY4 = _orders_file(
    "2025-03-04",
    [
        # 5001 is partially refunded: one cream, at its discounted price.
        (_order(5001, 7001, "2025-03-01 18:00:00", "2025-03-04 09:00:00", "41.40",
                customer_email="ana.garcia@example.com", discount_codes="SPRING5",
                financial_status="partially_refunded"),
         [{**line, "order_updated_at": ts("2025-03-04 09:00:00")} for line in _5001_LINES],
         [{"order_id": 5001, "order_updated_at": ts("2025-03-04 09:00:00"), "refund_id": 8001,
           "refunded_at": ts("2025-03-04 09:00:00"), "refund_line_item_id": 8101,
           "line_item_id": 9001, "quantity": 1, "subtotal": D("11.25"),
           "total_tax": D("1.95")}]),
        (_order(5005, 7003, "2025-03-04 20:00:00", "2025-03-04 20:00:00", "29.85",
                customer_email="elena@example.com"),
         [_order_line(5005, "2025-03-04 20:00:00", 9006, "P004", 3, "9.95")], []),
    ],
)
SHOPIFY_ORDERS, SHOPIFY_ORDER_LINES, SHOPIFY_REFUND_LINES = (
    [row for day in (_ORDERS_DAY1, _ORDERS_DAY2, _ORDERS_DAY4) for row in day[i]]
    for i in range(3)
)

GENERIC = _file(
    "transactions",
    "2025-03-01",
    "sales_2025-03.csv",
    [
        {"customer_id": "17850", "customer_key": "gk_17850", "order_id": "INV-1",
         "ordered_at": ts("2025-03-01 09:00:00"), "sku": "P004", "quantity": D("2"),
         "unit_price": D("9.95"), "store_id": "S01"},
        {"customer_id": "17850", "customer_key": "gk_17850", "order_id": "INV-1",
         "ordered_at": ts("2025-03-01 09:00:00"), "sku": "P001", "quantity": D("1"),
         "amount": D("12.50"), "store_id": "S01"},
    ],
) + _file(
    "transactions",
    "2025-03-03",
    "sales_2025-03.csv",
    [
        # A cancellation invoice: its own order, negative.
        {"customer_id": "17850", "customer_key": "gk_17850", "order_id": "C-INV-2",
         "ordered_at": ts("2025-03-03 10:00:00"), "sku": "P004", "quantity": D("-1"),
         "unit_price": D("9.95"), "store_id": "S01"},
        # No order id: the order is the customer and the time; a sub-cent amount.
        {"customer_id": "20000", "customer_key": "gk_20000",
         "ordered_at": ts("2025-03-04 10:00:00"), "amount": D("5.555"), "store_id": "S09"},
    ],
)

FIXTURE: dict[str, list[dict[str, Any]]] = {
    "pos_stores": STORES,
    "catalog_products": PRODUCTS,
    "pos_members": MEMBERS,
    "pos_tickets": TICKETS,
    "shopify_customers": SHOPIFY_CUSTOMERS,
    "shopify_orders": SHOPIFY_ORDERS,
    "shopify_order_lines": SHOPIFY_ORDER_LINES,
    "shopify_refund_lines": SHOPIFY_REFUND_LINES,
    "transactions": GENERIC,
    "marketing_unsubscribes": _file(
        "marketing_unsubscribes",
        "2025-03-05",
        "unsubscribes.csv",
        [{"email": "elena@example.com", "email_normalized": "elena@example.com",
          "is_email_valid": True, "unsubscribed_at": ts("2025-03-05 07:00:00"),
          "source_tool": "Mailchimp"}],
    ),
    # Mailchimp's words for Ana (her address written another way) and Elena's Klaviyo delivery,
    # reported twice; an address nobody has.
    "marketing_campaign_activity": _file(
        "marketing_campaign_activity",
        "2025-03-05",
        "activity.csv",
        [{"email": "ANA.GARCIA@example.com", "email_normalized": "ana.garcia@example.com",
          "is_email_valid": True, "campaign": "win_back", "event": "open",
          "event_type": "opened", "occurred_at": ts("2025-03-04 10:00:00"),
          "source_tool": "Mailchimp"},
         {"email": "ana.garcia@example.com", "email_normalized": "ana.garcia@example.com",
          "is_email_valid": True, "campaign": "win_back", "event": "open",
          "event_type": "opened", "occurred_at": ts("2025-03-04 10:00:00"),
          "source_tool": "mailchimp"},
         {"email": "elena@example.com", "email_normalized": "elena@example.com",
          "is_email_valid": True, "campaign": "win_back", "event": "Received Email",
          "event_type": "delivered", "occurred_at": ts("2025-03-04 09:00:00"),
          "source_tool": "klaviyo"},
         {"email": "elena@example.com", "email_normalized": "elena@example.com",
          "is_email_valid": True, "campaign": "win_back", "event": "Received Email",
          "event_type": "delivered", "occurred_at": ts("2025-03-04 09:00:00"),
          "source_tool": "klaviyo"},
         {"email": "nobody@example.com", "email_normalized": "nobody@example.com",
          "is_email_valid": True, "campaign": "win_back", "event": "sent",
          "event_type": "sent", "occurred_at": ts("2025-03-04 09:00:00"),
          "source_tool": "klaviyo"}],
    ),
    "privacy_erasure_requests": _file(
        "privacy_erasure_requests",
        "2025-03-06",
        "erasure.csv",
        [{"request_id": "ER-1", "requested_at": ts("2025-03-06 08:00:00"),
          "email": "someone@example.com", "email_normalized": "someone@example.com",
          "is_email_valid": True},
         # Carlos asks to be forgotten, naming his card.
         {"request_id": "ER-2", "requested_at": ts("2025-03-07 09:00:00"), "card_id": "1003",
          "card_key": "ck_1003"}],
    ),
}

# What the marts must say about the fixture (computed by hand from the rows above).
POS_NET = D("49.80")  # 22.50 + 4.20 + 9.95 − 11.25 − 18.90 + 18.90 + 4.50 + 19.90
SHOPIFY_NET = D("89.51")  # 5001: 41.40 − 11.25; 5003: 17.01; 5004: 12.50; 5005: 29.85
GENERIC_NET = D("28.01")  # 19.90 + 12.50 − 9.95 + 5.56
# fmt: on


def with_contact_keys(table: str, row: dict) -> dict:
    """The row with the keyed hashes of its normalised address and phone, as ingest adds them
    (the fixture spells out the normalised forms; the models match people on the keys)."""
    keyed = dict(row)
    for derived in SOURCES_BY_NAME[table].derived:
        if derived.derivation not in ("email_key", "phone_key") or derived.name in row:
            continue
        normal_column = derived.name.replace("email_key", "email_normalized").replace(
            "phone_key", "phone_e164"
        )
        normal = row.get(normal_column)
        keyed[derived.name] = keyed_hash(normal, "test-key", derived.namespace) if normal else None
    return keyed


def insert_raw(con: duckdb.DuckDBPyConnection, rows_by_table: Mapping[str, list[dict]]) -> None:
    for table, table_rows in rows_by_table.items():
        table_rows = [with_contact_keys(table, row) for row in table_rows]
        columns = [name for name, _ in SOURCES_BY_NAME[table].raw_columns()]
        unknown = {key for row in table_rows for key in row} - set(columns)
        assert not unknown, f"raw.{table} has no column(s) {sorted(unknown)}"
        con.executemany(
            f"insert into raw.{table} ({', '.join(map(quote_ident, columns))}) "
            f"values ({', '.join('?' for _ in columns)})",
            [[row.get(column) for column in columns] for row in table_rows],
        )


# ---------------------------------------------------------------------------------------------
# Running dbt
# ---------------------------------------------------------------------------------------------


def dbt_build(warehouse: Path, work_dir: Path) -> subprocess.CompletedProcess[str]:
    """`dbt build` on the warehouse file, with target and logs in work_dir, no network calls."""
    # The analytics models are computed as of a day, with the validated RFM scheme.
    dbt_vars = {**settings_vars(settings_from_dict({})), "as_of_date": "2025-03-31"}
    return subprocess.run(
        [str(DBT_EXECUTABLE), *dbt_arguments("build", dbt_vars, work_dir)],
        cwd=DBT_DIR,
        env=dbt_environment(warehouse),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def build_warehouse(work_dir: Path, rows_by_table: Mapping[str, list[dict]]) -> Path:
    work_dir.mkdir(parents=True, exist_ok=True)
    warehouse = work_dir / "warehouse.duckdb"
    con = connect(warehouse)
    try:
        ensure_warehouse_tables(con)
        insert_raw(con, rows_by_table)
    finally:
        con.close()
    result = dbt_build(warehouse, work_dir)
    assert result.returncode == 0, f"dbt build failed:\n{result.stdout[-8000:]}\n{result.stderr}"
    return warehouse


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    path = build_warehouse(tmp_path_factory.mktemp("dbt_fixture"), FIXTURE)
    con = duckdb.connect(str(path), read_only=True)
    yield con
    con.close()


def rows(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> list[dict[str, Any]]:
    cursor = con.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def one(con: duckdb.DuckDBPyConnection, sql: str, *params: Any) -> dict[str, Any]:
    result = rows(con, sql, *params)
    assert len(result) == 1, f"expected one row, got {result}"
    return result[0]


def transaction(con: duckdb.DuckDBPyConnection, transaction_id: str) -> dict[str, Any]:
    return one(con, "select * from marts.fct_transactions where transaction_id = ?", transaction_id)


# ---------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------


def test_net_revenue_reconciles_per_source(warehouse):
    totals = {
        r["source"]: r["net_amount"]
        for r in rows(
            warehouse,
            "select source, sum(net_amount) as net_amount from marts.fct_transactions group by 1",
        )
    }
    assert totals == {"pos": POS_NET, "shopify": SHOPIFY_NET, "generic": GENERIC_NET}


def test_matched_person_has_one_key_across_card_and_online(warehouse):
    keys = rows(
        warehouse,
        "select transaction_id, customer_key from marts.fct_transactions "
        "where transaction_id in ('pos:T1001', 'shopify:5001') order by 1",
    )
    assert keys == [
        {"transaction_id": "pos:T1001", "customer_key": "ck_1001"},
        {"transaction_id": "shopify:5001", "customer_key": "ck_1001"},
    ]
    ana = one(warehouse, "select * from marts.dim_customers where customer_key = 'ck_1001'")
    assert ana["has_card"] and ana["has_online_account"]
    assert ana["orders_count"] == 2
    assert ana["net_revenue_amount"] == D("45.60")  # T1001 15.45 + order 5001 30.15
    assert ana["first_order_date"] == ana["last_order_date"] == date(2025, 3, 1)
    assert ana["postal_area"] == "28"
    assert ana["birth_year"] == 1985
    assert ana["marital_status"] == "married"
    assert not ana["is_prospect"]


def test_identity_rules(warehouse):
    resolved = {
        (r["source_system"], r["source_key"]): (r["customer_key"], r["match_rule"])
        for r in rows(warehouse, "select * from intermediate.int_customer_identities_resolved")
    }
    assert resolved == {
        ("card", "ck_1001"): ("ck_1001", "card"),
        ("card", "ck_1002"): ("ck_1002", "card"),
        ("card", "ck_1003"): ("ck_1003", "card"),
        ("card", "ck_1004"): ("ck_1004", "card"),
        ("shopify", "sk_7001"): ("ck_1001", "email"),
        # Same number written differently on the card and in Shopify.
        ("shopify", "sk_7002"): ("ck_1002", "phone"),
        ("shopify", "sk_7003"): ("sk_7003", "unmatched"),
        # Known only from an order, its address typed in capitals.
        ("shopify", "sk_7004"): ("ck_1004", "email"),
        ("generic", "gk_17850"): ("gk_17850", "generic"),
        ("generic", "gk_20000"): ("gk_20000", "generic"),
    }


def test_refund_return_and_orphan_netting(warehouse):
    t1001 = transaction(warehouse, "pos:T1001")
    assert (t1001["gross_amount"], t1001["returned_amount"], t1001["net_amount"]) == (
        D("26.70"),
        D("11.25"),
        D("15.45"),
    )
    assert t1001["line_count"] == 3  # two sales (counted once despite the resent file), a return
    assert t1001["units"] == 2
    assert t1001["discount_amount"] == D("2.50")
    assert t1001["prescription_net_amount"] == D("4.20")
    assert t1001["has_coupon"] and t1001["coupon_code"] == "SPRING5"
    assert t1001["store_id"] == "S01" and t1001["ordered_at"] == ts("2025-03-01 10:00:00")

    order = transaction(warehouse, "shopify:5001")
    assert (order["gross_amount"], order["returned_amount"], order["net_amount"]) == (
        D("41.40"),
        D("11.25"),
        D("30.15"),
    )
    assert order["channel"] == "online" and order["store_id"] is None

    orphan = transaction(warehouse, "pos:R1004")
    assert orphan["is_orphan_return"]
    assert orphan["net_amount"] == D("-18.90")
    assert orphan["customer_key"] == "ck_1002"

    refund = one(
        warehouse,
        "select * from marts.fct_transaction_lines where line_id = 'shopify:5001:refund:8101'",
    )
    assert refund["line_type"] == "refund"
    assert refund["sku"] == "P001"
    assert refund["event_at"] == ts("2025-03-04 09:00:00")


def test_cancelled_order_and_old_versions_absent(warehouse):
    assert not rows(
        warehouse,
        "select * from marts.fct_transaction_lines where transaction_id = 'shopify:5002'",
    )
    assert not rows(
        warehouse, "select * from marts.fct_transactions where transaction_id = 'shopify:5002'"
    )
    # Order 5001 has two delivered versions; only the latest one's lines count.
    assert (
        one(
            warehouse,
            "select count(*) as n from marts.fct_transaction_lines "
            "where transaction_id = 'shopify:5001' and line_type = 'sale'",
        )["n"]
        == 2
    )


def test_anonymous_and_guest_transactions_have_no_customer(warehouse):
    assert transaction(warehouse, "pos:T1002")["customer_key"] is None
    guest = transaction(warehouse, "shopify:5003")
    assert guest["customer_key"] is None
    assert guest["net_amount"] == D("17.01")
    assert guest["coupon_code"] == "WELCOME10"


def test_generic_orders(warehouse):
    assert transaction(warehouse, "generic:INV-1")["net_amount"] == D("32.40")
    cancellation = transaction(warehouse, "generic:C-INV-2")
    assert cancellation["is_orphan_return"] and cancellation["net_amount"] == D("-9.95")
    derived = transaction(warehouse, "generic:gk_20000/2025-03-04 10:00:00")
    assert derived["net_amount"] == D("5.56")
    assert derived["customer_key"] == "gk_20000"
    assert {
        r["channel"]
        for r in rows(
            warehouse,
            "select distinct channel from marts.fct_transactions where source = 'generic'",
        )
    } == {"store"}


def test_customer_dimension(warehouse):
    customers = {r["customer_key"]: r for r in rows(warehouse, "select * from marts.dim_customers")}
    assert set(customers) == {
        "ck_1001",
        "ck_1002",
        "ck_1003",
        "ck_1004",
        "sk_7003",
        "gk_17850",
        "gk_20000",
    }
    assert customers["ck_1003"]["is_prospect"] and customers["ck_1003"]["orders_count"] == 0
    bea = customers["ck_1002"]
    assert bea["has_online_account"] and bea["postal_area"] == "08"
    # The cancelled order is no order; the orphan return is no order but nets revenue.
    assert bea["orders_count"] == 1
    assert bea["net_revenue_amount"] == D("4.50")  # T1005 23.40 − R1004 18.90
    david = customers["ck_1004"]
    assert david["orders_count"] == 2 and david["online_created_at"] == ts("2025-03-02 12:00:00")
    assert david["marital_status"] == "widowed"
    elena = customers["sk_7003"]
    assert not elena["has_card"] and elena["postal_area"] == "41"


def test_products_and_stores(warehouse):
    products = {r["sku"]: r for r in rows(warehouse, "select * from marts.dim_products")}
    assert products["P003"]["list_price_amount"] == D("18.90")
    assert products["P999"]["category"] == "Unknown"
    assert not products["P999"]["is_in_catalog"] and not products["P999"]["is_prescription"]
    stores = {r["store_id"]: r for r in rows(warehouse, "select * from marts.dim_stores")}
    assert set(stores) == {"S01", "S02", "S03", "S09"}
    assert not stores["S03"]["is_in_store_master"]


def test_contacts_prefer_card_and_fall_back_to_shopify(warehouse):
    contacts = {
        r["customer_key"]: r for r in rows(warehouse, "select * from pii.customer_contacts")
    }
    assert set(contacts) == {"ck_1001", "ck_1002", "ck_1003", "ck_1004", "sk_7003"}
    ana = contacts["ck_1001"]
    assert ana["email_normalized"] == "ana.garcia@example.com"
    assert ana["email_opt_in"] is True  # the latest member record
    assert ana["phone_e164"] == "+34612345678"  # the card's, not Shopify's
    assert ana["contact_source"] == "card"
    bea = contacts["ck_1002"]  # no address on the card: the Shopify one, with its consent
    assert bea["email"] == "bea.online@example.com" and bea["email_opt_in"] is False
    assert bea["postal_code"] == "08012"
    elena = contacts["sk_7003"]
    assert elena["contact_source"] == "shopify" and elena["email_opt_in"] is True
    assert elena["postal_code"] == "41001"


def test_campaign_activity_lands_on_the_customer_whose_address_it_names(warehouse):
    """An address written another way is the same person's, the same event reported twice is
    one event, and an address no customer has is left out."""
    got = rows(
        warehouse,
        "select customer_key, campaign, event_type, source_tool, occurred_date "
        "from marts.fct_campaign_activity order by customer_key, event_type",
    )
    assert [(r["customer_key"], r["event_type"], r["source_tool"]) for r in got] == [
        ("ck_1001", "opened", "mailchimp"),
        ("sk_7003", "delivered", "klaviyo"),
    ]
    assert {r["occurred_date"] for r in got} == {date(2025, 3, 4)}


# Schemas that may hold a person's data: what was delivered, its views, and `pii`.
PERSONAL_SCHEMAS = ("raw", "staging", "quarantine", "pii")


def personal_values(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Every personal value delivered: each raw column is_personal_column names, as text."""
    columns = con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'raw'"
    ).fetchall()
    values, stores = set(), set()
    for table, column in columns:
        if table == "pos_stores":
            # A shop's address and phone are public, and may share a customer's postal code.
            found = con.execute(
                f"select cast({quote_ident(column)} as varchar) from raw.pos_stores"
            )
            stores |= {v.lower() for (v,) in found.fetchall() if v}
        elif is_personal_column(column) and column != "raw_record":
            found = con.execute(
                f"select distinct cast({quote_ident(column)} as varchar) "
                f"from raw.{quote_ident(table)} where {quote_ident(column)} is not null"
            ).fetchall()
            # Short values (a two-digit id) would match unrelated numbers.
            values |= {v.lower() for (v,) in found if len(v) >= 5}
    return values - stores


def test_no_personal_data_in_any_model_outside_pii(warehouse):
    """Every column of every relation outside raw, staging, quarantine and pii, every model of
    the dbt project among them: no name, email, phone, birth date or address delivered."""
    wanted = personal_values(warehouse)
    assert {"ana.garcia@example.com", "+34612345678", "1985-07-14", "garcía"} <= wanted
    relations = warehouse.execute(
        "select table_schema, table_name from information_schema.tables "
        f"where table_schema not in {PERSONAL_SCHEMAS}"
    ).fetchall()
    (path,) = {
        p for (p,) in warehouse.execute("select path from duckdb_databases()").fetchall() if p
    }
    manifest = json.loads((Path(path).parent / "target" / "manifest.json").read_text())
    models = {
        (node["schema"], node.get("alias") or node["name"])
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] not in PERSONAL_SCHEMAS
    }
    assert len(models) > 15 and models <= set(relations), models - set(relations)
    for schema, table in relations:
        columns = warehouse.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
        for (column,) in columns:
            found = warehouse.execute(
                f"select distinct lower(cast({quote_ident(column)} as varchar)) "
                f"from {schema}.{quote_ident(table)}"
            ).fetchall()
            leaked = {v for (v,) in found if v in wanted or (v and "@" in v)}
            assert not leaked, f"personal data in {schema}.{table}.{column}: {sorted(leaked)[:3]}"


def test_builds_on_empty_raw_tables(tmp_path):
    path = build_warehouse(tmp_path, {})
    con = duckdb.connect(str(path), read_only=True)
    try:
        for table in ("fct_transactions", "fct_transaction_lines", "dim_customers"):
            assert con.execute(f"select count(*) from marts.{table}").fetchone() == (0,)
    finally:
        con.close()


def test_analytics_kpis_cohorts_history_and_profiles_as_of_the_day(warehouse):
    kpi = one(warehouse, "select * from analytics.kpi_daily")
    assert kpi["as_of_date"] == date(2025, 3, 31)
    # Net revenue counts every line on the day it happened (anonymous ticket, guest order,
    # prescription items, returns): nothing on the 31st; in the 30 days ending on it, all but the
    # 1st of March (T1001 26.70 + T1002 9.95 + 5001 41.40 + 5003 17.01 + INV-1 32.40).
    assert kpi["net_revenue_amount"] == D("0.00")
    assert kpi["net_revenue_30d_amount"] == POS_NET + SHOPIFY_NET + GENERIC_NET - D("127.46")
    # Six customers with a purchase; Ana and 17850 last bought on the 1st, 30 days before.
    assert (kpi["customers"], kpi["active_customers_30d"], kpi["active_customers_365d"]) == (
        6,
        4,
        6,
    )
    assert (kpi["new_customers"], kpi["new_customers_30d"]) == (0, 4)
    assert kpi["repeat_purchase_rate"] == pytest.approx(1 / 6)  # David: the 2nd and the 6th
    assert kpi["purchase_frequency_365d"] == pytest.approx(8 / 6)
    # T1005 23.40, T1006 19.90, 5004 12.50, 17850's 5.56 and 5005 29.85: 91.21 / 5.
    assert (kpi["orders_30d"], kpi["average_order_value_30d_amount"]) == (5, D("18.24"))
    assert (kpi["churned_customers_30d"], kpi["not_lost_customers_30_days_ago"]) == (0, 2)
    assert kpi["churn_rate_30d"] == 0
    # No CLV rows in the fixture: no average, and lifecycle decided by days alone.
    assert kpi["clv_customers"] == 0 and kpi["average_predicted_clv_amount"] is None

    cohorts = rows(warehouse, "select * from analytics.cohort_retention")
    assert [
        (
            c["cohort_month"],
            c["months_since_first_purchase"],
            c["cohort_customers"],
            c["retained_customers"],
            c["orders_count"],
            c["purchase_amount"],
            c["net_amount"],
            c["is_complete_month"],
        )
        for c in cohorts
    ] == [(date(2025, 3, 1), 0, 6, 6, 8, D("165.01"), D("169.21"), True)]

    history = {
        r["customer_key"]: r
        for r in rows(warehouse, "select * from analytics.customer_segment_history")
    }
    assert len(history) == 7
    carlos = history["ck_1003"]  # a member with no purchase yet
    assert carlos["lifecycle_stage"] == "prospect"
    assert carlos["rfm_segment"] is None and carlos["value_tier"] is None
    by_tier = rows(
        warehouse,
        "select group_name, customers from analytics.kpi_clv_by_group "
        "where group_type = 'value_tier' order by 1",
    )
    assert sum(r["customers"] for r in by_tier) == 6
    # One as-of date: no transitions yet; every group is smaller than 10: no profile.
    assert rows(warehouse, "select * from analytics.segment_transitions") == []
    assert rows(warehouse, "select * from analytics.segment_profiles") == []


def test_an_erased_person_keeps_a_key_and_loses_every_personal_value(warehouse):
    carlos = one(warehouse, "select * from pii.customer_contacts where customer_key = 'ck_1003'")
    assert carlos["is_erased"] is True
    personal = ("first_name", "last_name", "email", "email_normalized", "phone_e164",
                "postal_code", "marital_status", "birth_date", "email_source")  # fmt: skip
    assert {c: carlos[c] for c in personal} == dict.fromkeys(personal)
    assert carlos["is_email_valid"] is False and carlos["email_opt_in"] is False
    # The mart BI reads keeps his key and purchases (counted anonymously), not what describes him.
    described = ("birth_year", "marital_status", "postal_area")
    profile = one(warehouse, "select * from marts.dim_customers where customer_key = 'ck_1003'")
    assert {c: profile[c] for c in described} == dict.fromkeys(described)
    described_others = one(
        warehouse,
        "select count(birth_year) as n from marts.dim_customers where customer_key <> 'ck_1003'",
    )
    assert described_others["n"] > 0
    others = rows(
        warehouse, "select is_erased from pii.customer_contacts where customer_key <> 'ck_1003'"
    )
    assert {r["is_erased"] for r in others} == {False}
    assert one(warehouse, "select count(*) as n from pii.email_consent_events")["n"] > 0


def test_who_may_be_contacted_on_the_day(warehouse):
    reasons = {
        r["customer_key"]: r["not_contactable_reason"]
        for r in rows(
            warehouse,
            "select customer_key, not_contactable_reason from pii.customer_contactability "
            "where as_of_date = '2025-03-31'",
        )
    }
    assert reasons == {
        "ck_1001": None,  # Ana gave consent on her card on 1 February
        "ck_1002": "no_consent",  # Bea's Shopify address, no consent
        "ck_1003": "erased",
        "ck_1004": "no_consent",
        "sk_7003": "unsubscribed",  # Elena opted in online, then unsubscribed in Mailchimp
    }


def test_the_warehouse_memory_limit_of_loyalty_yml_reaches_dbts_duckdb(tmp_path: Path):
    # A big refresh must stay under the limit the user set (DuckDB spills past it), in dbt too.
    env = {**dbt_environment(tmp_path / "warehouse.duckdb"), **duckdb_limits_environment("3GB")}
    shown = subprocess.run(
        [
            str(DBT_EXECUTABLE),
            "show",
            "--inline",
            "select current_setting('memory_limit') as memory_limit",
            "--output",
            "json",
            "--quiet",
            "--project-dir",
            str(DBT_DIR),
            "--profiles-dir",
            str(DBT_DIR),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr
    assert json.loads(shown.stdout)["show"] == [{"memory_limit": "2.7 GiB"}]  # 3e9 bytes
