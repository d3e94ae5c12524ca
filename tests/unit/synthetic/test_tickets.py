"""POS tickets: arithmetic, numbering, returns, anonymous share, catalogue references."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Landing


@pytest.fixture(scope="module")
def lines(clean: Landing) -> list[dict[str, str]]:
    return clean.csv("pos/tickets")


@pytest.fixture(scope="module")
def tickets(lines: list[dict[str, str]]) -> dict[str, list[dict[str, str]]]:
    by_ticket: dict[str, list[dict[str, str]]] = defaultdict(list)
    for line in lines:
        by_ticket[line["ticket_id"]].append(line)
    return by_ticket


def test_line_amount_is_quantity_times_price_minus_discount(lines: list[dict[str, str]]) -> None:
    assert len(lines) > 1_000
    for line in lines:
        expected = int(line["quantity"]) * Decimal(line["unit_price"]) - Decimal(
            line["discount_amount"]
        )
        assert Decimal(line["line_amount"]) == expected, line
        assert int(line["quantity"]) != 0 and Decimal(line["unit_price"]) >= 0


def test_tickets_are_numbered_and_consistent(tickets: dict[str, list[dict[str, str]]]) -> None:
    for ticket_id, ticket in tickets.items():
        assert [int(t["line_number"]) for t in ticket] == list(range(1, len(ticket) + 1)), ticket_id
        for key in ("store_id", "sold_at", "card_id", "coupon_code", "original_ticket_id", "_file"):
            assert len({t[key] for t in ticket}) == 1, (ticket_id, key)
        first = ticket[0]
        # T<store number>-<yyyymmdd>-<seq>, sold on the folder's day in opening hours
        store, day, _ = ticket_id.split("-")
        assert store == "T" + first["store_id"][1:]
        assert day == first["_day"].replace("-", "") == first["sold_at"][:10].replace("-", "")
        assert "09:00:00" <= first["sold_at"][11:] < "21:00:00"


def test_returns_give_back_paid_lines_of_an_earlier_ticket(
    tickets: dict[str, list[dict[str, str]]],
) -> None:
    returns = {k: v for k, v in tickets.items() if v[0]["original_ticket_id"]}
    sales = len(tickets) - len(returns)
    assert 0.01 * sales < len(returns) < 0.04 * sales
    for ticket_id, ret in returns.items():
        original = tickets[ret[0]["original_ticket_id"]]  # KeyError: refers to no ticket
        assert not original[0]["original_ticket_id"]
        assert original[0]["store_id"] == ret[0]["store_id"]
        assert original[0]["card_id"] == ret[0]["card_id"]
        gap = datetime.fromisoformat(ret[0]["sold_at"]) - datetime.fromisoformat(
            original[0]["sold_at"]
        )
        assert 0 < gap.days + gap.seconds / 86_400 < 15, ticket_id
        sold = {(line["sku"], line["unit_price"]): int(line["quantity"]) for line in original}
        for line in ret:
            assert int(line["quantity"]) < 0 and Decimal(line["discount_amount"]) == 0
            assert -int(line["quantity"]) <= sold[(line["sku"], line["unit_price"])], ticket_id


def test_a_quarter_of_sales_are_anonymous(tickets: dict[str, list[dict[str, str]]]) -> None:
    sales = [t[0] for t in tickets.values() if not t[0]["original_ticket_id"]]
    anonymous = sum(not t["card_id"] for t in sales) / len(sales)
    assert 0.2 < anonymous < 0.3


def test_coupons_are_rare_and_never_discount_prescriptions(
    clean: Landing, tickets: dict[str, list[dict[str, str]]]
) -> None:
    prescription = {
        p["sku"] for p in clean.csv("catalog/products") if p["is_prescription"] == "true"
    }
    with_coupon = [t for t in tickets.values() if t[0]["coupon_code"]]
    assert 0.03 < len(with_coupon) / len(tickets) < 0.07
    rx_lines = 0
    for ticket in tickets.values():
        for line in ticket:
            if line["sku"] in prescription:
                rx_lines += 1
                assert Decimal(line["discount_amount"]) == 0
            if not line["coupon_code"]:
                assert Decimal(line["discount_amount"]) == 0
    assert rx_lines > 0


def test_lines_sell_products_of_the_delivered_catalogue(
    clean: Landing, lines: list[dict[str, str]]
) -> None:
    snapshots: dict[str, dict[str, str]] = defaultdict(dict)  # day -> sku -> is_active
    for p in clean.csv("catalog/products"):
        snapshots[p["_day"]][p["sku"]] = p["is_active"]
    days = sorted(snapshots)
    assert days[0] == clean.start.isoformat() and len(days) == 6  # first day, then each 1st
    assert len(snapshots[days[-1]]) > len(snapshots[days[0]])  # new products were launched
    for line in lines:
        if int(line["quantity"]) < 0:
            continue  # a return may bring back a product discontinued since
        current = snapshots[max(d for d in days if d <= line["_day"])]
        assert current.get(line["sku"]) == "true", line
