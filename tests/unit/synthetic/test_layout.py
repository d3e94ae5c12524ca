"""The generated files follow the landing contract of docs/sources.md and lib/sources/specs.py."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from dagster_project.lib.sources import specs

if TYPE_CHECKING:
    from conftest import Landing


CSV_SOURCES = {
    "pos/stores": ("stores.csv", specs.POS_STORES),
    "catalog/products": ("products.csv", specs.CATALOG_PRODUCTS),
    "pos/members": ("members.csv", specs.POS_MEMBERS),
    "pos/tickets": ("tickets.csv", specs.POS_TICKETS),
    "marketing/unsubscribes": ("unsubscribes.csv", specs.MARKETING_UNSUBSCRIBES),
    "marketing/campaign_activity": ("campaign_activity.csv", specs.MARKETING_CAMPAIGN_ACTIVITY),
    "privacy/erasure_requests": ("erasure_requests.csv", specs.PRIVACY_ERASURE_REQUESTS),
}
JSON_SOURCES = {"ecommerce/orders": "orders.jsonl", "ecommerce/customers": "customers.jsonl"}

# Where each raw column of the Shopify tables comes from in the JSON objects.
ORDER_PATHS = {
    "order_id": ("id",),
    "order_name": ("name",),
    "customer_id": ("customer", "id"),
    "customer_email": ("customer", "email"),
    "customer_phone": ("customer", "phone"),
}
LINE_PATHS = {"line_item_id": "id"}
REFUND_LINE_PATHS = {"refund_line_item_id": "id"}
CUSTOMER_PATHS = {
    "customer_id": ("id",),
    "email_marketing_consent_state": ("email_marketing_consent", "state"),
    "email_marketing_opt_in_level": ("email_marketing_consent", "opt_in_level"),
    "email_marketing_consent_updated_at": ("email_marketing_consent", "consent_updated_at"),
    "default_address_zip": ("default_address", "zip"),
    "default_address_city": ("default_address", "city"),
    "default_address_country_code": ("default_address", "country_code"),
}
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


def _has_path(obj: dict, path: tuple[str, ...]) -> bool:
    for key in path:
        if obj is None:
            return True  # a null parent (guest checkout) is allowed
        if key not in obj:
            return False
        obj = obj[key]
    return True


@pytest.mark.parametrize("landing_path", [*CSV_SOURCES, *JSON_SOURCES])
def test_every_source_has_one_named_file_per_day_folder(clean: Landing, landing_path: str) -> None:
    expected = (
        CSV_SOURCES[landing_path][0] if landing_path in CSV_SOURCES else JSON_SOURCES[landing_path]
    )
    folders = sorted((clean.root / landing_path).iterdir())
    assert folders, f"{landing_path} delivered nothing"
    for folder in folders:
        assert re.fullmatch(r"date=\d{4}-\d{2}-\d{2}", folder.name)
        assert clean.start <= date.fromisoformat(folder.name[5:]) <= clean.end
        assert [p.name for p in folder.iterdir()] == [expected]
        assert (folder / expected).stat().st_size > 0


@pytest.mark.parametrize("landing_path", list(CSV_SOURCES))
def test_csv_headers_are_the_spec_columns(clean: Landing, landing_path: str) -> None:
    columns = ",".join(c.name for c in CSV_SOURCES[landing_path][1].columns)
    for path in clean.files(landing_path):
        with path.open(encoding="utf-8") as f:
            assert f.readline().rstrip("\n") == columns, path


def test_order_objects_carry_every_raw_column(clean: Landing) -> None:
    orders = clean.jsonl("ecommerce/orders")
    assert orders
    for table, paths in ((specs.SHOPIFY_ORDERS, ORDER_PATHS),):
        for column in table.columns:
            path = paths.get(column.name, (column.name,))
            if column.name == "discount_codes":
                path = ("discount_codes",)
            assert all(_has_path(o, path) for o in orders), column.name
    lines = [li for o in orders for li in o["line_items"]]
    for column in specs.SHOPIFY_ORDER_LINES.columns:
        if column.name in ("order_id", "order_updated_at"):
            continue
        assert all(LINE_PATHS.get(column.name, column.name) in li for li in lines), column.name
    refunds = [r for o in orders for r in o["refunds"]]
    assert refunds, "no refund was delivered"
    for r in refunds:
        assert {"id", "created_at", "refund_line_items", "transactions"} <= set(r)
        for rl in r["refund_line_items"]:
            assert {"id", "line_item_id", "quantity", "subtotal", "total_tax"} <= set(rl)


def test_customer_objects_carry_every_raw_column(clean: Landing) -> None:
    customers = clean.jsonl("ecommerce/customers")
    assert customers
    for column in specs.SHOPIFY_CUSTOMERS.columns:
        path = CUSTOMER_PATHS.get(column.name, (column.name,))
        assert all(_has_path(c, path) for c in customers), column.name


def test_shopify_types_are_shopifys(clean: Landing) -> None:
    """Ids are integers, money decimal strings with two decimals, timestamps ISO with the offset
    Madrid had at that moment."""
    madrid = ZoneInfo("Europe/Madrid")
    orders = clean.jsonl("ecommerce/orders")
    for o in orders:
        assert isinstance(o["id"], int)
        for key in ("subtotal_price", "total_price", "total_discounts", "total_tax"):
            assert MONEY.match(o[key]), (key, o[key])
        for li in o["line_items"]:
            assert isinstance(li["id"], int) and isinstance(li["quantity"], int)
            assert MONEY.match(li["price"]) and MONEY.match(li["total_discount"])
        for key in ("created_at", "updated_at", "processed_at"):
            assert ISO.match(o[key])
            stamp = datetime.fromisoformat(o[key])
            local = stamp.replace(tzinfo=None).replace(tzinfo=madrid)
            assert local.utcoffset() == stamp.utcoffset(), o[key]
    offsets = {o["created_at"][-6:] for o in orders}
    assert offsets == {"+01:00", "+02:00"}  # the period crosses the spring clock change
