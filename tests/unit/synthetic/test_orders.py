"""Shopify orders: totals, versions delivered on change days, refunds and cancellations."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Landing


@pytest.fixture(scope="module")
def versions(clean: Landing) -> list[dict]:
    return clean.jsonl("ecommerce/orders")


@pytest.fixture(scope="module")
def orders(versions: list[dict]) -> dict[int, list[dict]]:
    """Versions of each order, in delivery order."""
    by_id: dict[int, list[dict]] = defaultdict(list)
    for v in sorted(versions, key=lambda v: (v["updated_at"], v["_file"], v["_line"])):
        by_id[v["id"]].append(v)
    return by_id


def test_subtotal_and_totals_add_up(versions: list[dict]) -> None:
    assert len(versions) > 200
    for o in versions:
        lines = o["line_items"]
        subtotal = sum(
            Decimal(li["price"]) * li["quantity"] - Decimal(li["total_discount"]) for li in lines
        )
        assert Decimal(o["subtotal_price"]) == subtotal, o["id"]
        shipping = Decimal("3.95") if subtotal < 49 else Decimal(0)
        assert Decimal(o["total_price"]) == subtotal + shipping
        discounts = sum(Decimal(li["total_discount"]) for li in lines)
        assert Decimal(o["total_discounts"]) == discounts
        assert Decimal(0) < Decimal(o["total_tax"]) < Decimal(o["total_price"]) * Decimal("0.18")
        if o["discount_codes"]:
            assert Decimal(o["discount_codes"][0]["amount"]) == discounts > 0
        else:
            assert discounts == 0
        assert o["currency"] == "EUR" and o["taxes_included"] is True and o["source_name"] == "web"


def test_each_version_lands_on_the_day_it_changed(orders: dict[int, list[dict]]) -> None:
    for order_id, history in orders.items():
        first = history[0]
        assert first["updated_at"] == first["created_at"] and first["financial_status"] == "paid"
        for v in history:
            assert v["_day"] == v["updated_at"][:10], order_id
            assert v["created_at"] == first["created_at"] and v["line_items"] == first["line_items"]
        assert len(history) <= 2
        updated = [v["updated_at"] for v in history]
        assert updated == sorted(set(updated))


def test_cancellations_come_within_a_day(orders: dict[int, list[dict]]) -> None:
    cancelled = [h[-1] for h in orders.values() if h[-1]["cancelled_at"]]
    assert 0.005 * len(orders) < len(cancelled) < 0.04 * len(orders)
    for o in cancelled:
        gap = datetime.fromisoformat(o["cancelled_at"]) - datetime.fromisoformat(o["created_at"])
        assert 0 < gap.total_seconds() < 86_400
        assert o["updated_at"] == o["cancelled_at"] and o["financial_status"] == "voided"
        assert o["refunds"] == []


def test_refunds_never_exceed_the_refunded_line(orders: dict[int, list[dict]]) -> None:
    refunded = [h[-1] for h in orders.values() if h[-1]["refunds"]]
    assert 0.02 * len(orders) < len(refunded) < 0.08 * len(orders)
    for o in refunded:
        lines = {li["id"]: li for li in o["line_items"]}
        (refund,) = o["refunds"]
        assert refund["created_at"] == o["updated_at"]
        days = (
            datetime.fromisoformat(refund["created_at"]).date()
            - datetime.fromisoformat(o["created_at"]).date()
        )
        assert 2 <= days.days <= 20
        total = Decimal(0)
        for rl in refund["refund_line_items"]:
            line = lines[rl["line_item_id"]]
            paid = Decimal(line["price"]) * line["quantity"] - Decimal(line["total_discount"])
            assert 0 < rl["quantity"] <= line["quantity"]
            assert Decimal(0) < Decimal(rl["subtotal"]) <= paid
            assert Decimal(rl["total_tax"]) < Decimal(rl["subtotal"])
            total += Decimal(rl["subtotal"])
        assert Decimal(refund["transactions"][0]["amount"]) == total
        assert o["financial_status"] == (
            "refunded" if total == Decimal(o["subtotal_price"]) else "partially_refunded"
        )


def test_ids_are_unique(orders: dict[int, list[dict]]) -> None:
    names = {h[0]["name"] for h in orders.values()}
    assert len(names) == len(orders)
    line_ids = [li["id"] for h in orders.values() for li in h[0]["line_items"]]
    assert len(line_ids) == len(set(line_ids))
    refund_ids = [r["id"] for h in orders.values() for r in h[-1]["refunds"]]
    assert len(refund_ids) == len(set(refund_ids))


def test_guests_and_prescriptions(clean: Landing, orders: dict[int, list[dict]]) -> None:
    guests = sum(h[0]["customer"] is None for h in orders.values()) / len(orders)
    assert 0.05 < guests < 0.15
    prescription = {
        p["sku"] for p in clean.csv("catalog/products") if p["is_prescription"] == "true"
    }
    assert not {li["sku"] for h in orders.values() for li in h[0]["line_items"]} & prescription
