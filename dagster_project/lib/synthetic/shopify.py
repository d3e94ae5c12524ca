"""Shopify orders and customers, as the Admin API's JSON objects.

An order is delivered on the day it is created, and again (the whole object, with a new
`updated_at`) on the day it changes: a partial refund some days later, or a cancellation within
a day. Guests check out without an account (`customer` null). Money is a decimal string with
two decimals and timestamps carry the Madrid offset, as Shopify writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.lib.synthetic import people, places, text
from dagster_project.lib.synthetic.accounts import Accounts
from dagster_project.lib.synthetic.baskets import ONLINE, Lines, ProductSampler, draw_baskets
from dagster_project.lib.synthetic.catalog import Products
from dagster_project.lib.synthetic.consents import CONSENT_STATES, Contacts, CustomerRows
from dagster_project.lib.synthetic.needs import Leaning
from dagster_project.lib.synthetic.params import PopulationParams, WorldParams
from dagster_project.lib.synthetic.people import Persons
from dagster_project.lib.synthetic.purchases import Purchases, population_values, rank_within
from dagster_project.lib.synthetic.timeline import ONLINE_HOURS, SECONDS_PER_DAY, Timeline

COUPONS = (("WELCOME10", 0.10), ("NEWSLETTER5", 0.05), ("WEB15", 0.15), ("FARMA20", 0.20))
FIRST_ORDER_ID = 5_610_000_000_001
FIRST_LINE_ITEM_ID = 14_200_000_000_001
FIRST_REFUND_ID = 9_310_000_000_001
FIRST_REFUND_LINE_ID = 9_320_000_000_001
FIRST_TRANSACTION_ID = 9_330_000_000_001
PRODUCT_ID_BASE = 8_100_000_000
VARIANT_ID_BASE = 45_000_000_000
SHIPPING_VAT = 21

FINANCIAL_STATUSES = text.strings(["paid", "voided", "refunded", "partially_refunded"])

# Kinds of order versions
CREATED, CANCELLED, REFUNDED = 0, 1, 2


@dataclass(frozen=True)
class Orders:
    """Online orders in creation order (index = order number - 1) and their lines."""

    person: np.ndarray  # -1 for a guest
    guest: np.ndarray  # index into the guests' names; -1 for account holders
    at: np.ndarray
    coupon: np.ndarray  # index into COUPONS; -1 for none
    lines: Lines
    line_item_id: np.ndarray  # per line
    cancelled_at: np.ndarray  # -1 when not cancelled within the period
    refunded_at: np.ndarray  # -1 when no refund within the period
    refund_line: np.ndarray  # index into lines of the refunded line; -1 without refund
    refund_quantity: np.ndarray
    guests: people.Names

    def __len__(self) -> int:
        return len(self.at)


def build_orders(
    rng: np.random.Generator,
    purchases: Purchases,
    persons: Persons,
    products: Products,
    sampler: ProductSampler,
    leaning: Leaning,
    timeline: Timeline,
    population: PopulationParams,
    world: WorldParams,
) -> Orders:
    mine = np.flatnonzero(purchases.online)
    expected = len(mine) * world.guest_order_share / (1 - world.guest_order_share)
    per_day = rng.poisson(expected * timeline.weight / timeline.weight.sum())
    guest_day = np.repeat(np.arange(timeline.n_days), per_day)
    n_guests = len(guest_day)
    guest_at = timeline.clock(guest_day, rng.random(n_guests), ONLINE_HOURS)

    at = np.concatenate([purchases.at[mine], guest_at])
    person = np.concatenate([purchases.person[mine].astype(np.int64), np.full(n_guests, -1)])
    guest = np.concatenate([np.full(len(mine), -1), np.arange(n_guests)])
    value = np.concatenate(
        [purchases.value_cents[mine], population_values(rng, n_guests, population)]
    )
    # Number orders in creation order.
    order = np.lexsort((np.arange(len(at)), at))
    at, person, guest, value = at[order], person[order], guest[order], value[order]
    n = len(at)

    coupon = np.where(
        rng.random(n) < world.online_coupon_share, rng.integers(0, len(COUPONS), n), -1
    )
    rates = np.array([c[1] for c in COUPONS])
    coupon_rate = np.where(coupon >= 0, rates[np.maximum(coupon, 0)], 0.0)
    day = (at // SECONDS_PER_DAY).astype(np.int32)
    lines = draw_baskets(
        rng,
        value,
        timeline.month_index(day),
        ONLINE,
        coupon_rate,
        products,
        sampler,
        person,
        leaning,
    )

    end = timeline.n_days * SECONDS_PER_DAY
    cancel = rng.random(n) < world.cancel_share
    cancelled_at = at + rng.integers(30 * 60, 20 * 3600, n)
    cancelled_at = np.where(cancel & (cancelled_at < end), cancelled_at, -1)
    refund = ~cancel & (rng.random(n) < world.refund_share)
    refund_day = day + rng.integers(2, 21, n)
    refunded_at = timeline.clock(
        np.minimum(refund_day, timeline.n_days - 1), rng.random(n), ONLINE_HOURS
    )
    refunded_at = np.where(refund & (refund_day < timeline.n_days), refunded_at, -1)
    # One line of the order is refunded, part of its quantity.
    pick = lines.starts + (rng.random(n) * lines.counts).astype(np.int64)
    refund_quantity = 1 + rng.binomial(lines.quantity[pick] - 1, 0.5)
    refund_line = np.where(refunded_at >= 0, pick, -1)

    taken = pa.concat_arrays([persons.names.email, persons.names.alt_email])
    birth_year = rng.integers(1940, 2006, n_guests)
    guests = people.draw_names(rng, n_guests, birth_year, taken=taken)
    return Orders(
        person=person,
        guest=guest,
        at=at,
        coupon=coupon,
        lines=lines,
        line_item_id=FIRST_LINE_ITEM_ID + np.arange(len(lines)),
        cancelled_at=cancelled_at,
        refunded_at=refunded_at,
        refund_line=refund_line,
        refund_quantity=np.where(refund_line >= 0, refund_quantity, 0),
        guests=guests,
    )


@dataclass(frozen=True)
class OrderVersions:
    """ecommerce/orders rows: each order when created, and again when cancelled or refunded."""

    order: np.ndarray
    kind: np.ndarray  # CREATED, CANCELLED, REFUNDED
    updated_at: np.ndarray

    def __len__(self) -> int:
        return len(self.order)


def order_versions(orders: Orders) -> OrderVersions:
    index = np.arange(len(orders))
    cancelled = np.flatnonzero(orders.cancelled_at >= 0)
    refunded = np.flatnonzero(orders.refunded_at >= 0)
    order = np.concatenate([index, cancelled, refunded])
    kind = np.concatenate(
        [
            np.full(len(index), CREATED),
            np.full(len(cancelled), CANCELLED),
            np.full(len(refunded), REFUNDED),
        ]
    )
    updated_at = np.concatenate(
        [orders.at, orders.cancelled_at[cancelled], orders.refunded_at[refunded]]
    )
    sort = np.lexsort((order, updated_at))
    return OrderVersions(order[sort], kind[sort], updated_at[sort])


def vat_part(cents: np.ndarray, vat: np.ndarray) -> np.ndarray:
    """The VAT included in a VAT-inclusive amount, in (fractional) cents."""
    return cents * vat / (100.0 + vat)


def customer_objects(persons: Persons, accounts: Accounts, contacts: Contacts) -> pa.Array:
    """The nested `customer` of an order, per person (null without an account)."""
    fields = {
        "id": text.json_raw(
            text.with_nulls(text.integers(accounts.customer_id), accounts.customer_id < 0)
        ),
        "email": text.json_string(contacts.shopify_email),
        "phone": text.json_string(contacts.shopify_phone),
        "first_name": text.json_string(persons.names.first_name),
        "last_name": text.json_string(persons.names.last_name),
    }
    return text.with_nulls(text.json_object(fields), accounts.customer_id < 0)


def render_orders(
    versions: OrderVersions,
    lo: int,
    hi: int,
    orders: Orders,
    products: Products,
    clock: text.Clock,
    customers: pa.Array,
    contacts: Contacts,
    world: WorldParams,
) -> dict[str, pa.Array]:
    """JSON tokens of order versions lo:hi, keyed by Shopify field name."""
    o = versions.order[lo:hi]
    kind = versions.kind[lo:hi]
    n = len(o)
    lines = orders.lines
    # Gather the lines of each order of this chunk.
    counts = lines.counts[o]
    li = np.repeat(lines.starts[o], counts) + rank_within(counts)
    amount = lines.amount_cents[li]
    product = lines.product[li]
    vat = products.vat_rate[product]
    line_tokens = text.json_object(
        {
            "id": text.integers(orders.line_item_id[li]),
            "product_id": text.integers(PRODUCT_ID_BASE + product),
            "variant_id": text.integers(VARIANT_ID_BASE + product),
            "sku": text.json_string(text.lookup(text.strings(list(products.sku)), product)),
            "title": text.json_string(
                text.lookup(text.strings(list(products.product_name)), product)
            ),
            "quantity": text.integers(lines.quantity[li]),
            "price": text.json_string(text.money(lines.unit_cents[li])),
            "total_discount": text.json_string(text.money(lines.discount_cents[li])),
        }
    )
    order_of_line = np.repeat(np.arange(n), counts)
    subtotal = np.bincount(order_of_line, weights=amount, minlength=n).round().astype(np.int64)
    discounts = (
        np.bincount(order_of_line, weights=lines.discount_cents[li], minlength=n)
        .round()
        .astype(np.int64)
    )
    line_tax = np.bincount(order_of_line, weights=vat_part(amount, vat), minlength=n)
    shipping = np.where(subtotal < world.free_shipping_from_cents, world.shipping_fee_cents, 0)
    tax = np.round(line_tax + vat_part(shipping, SHIPPING_VAT)).astype(np.int64)

    coupon = orders.coupon[o]
    codes = text.strings([c[0] for c in COUPONS])
    discount_codes = text.concat(
        '[{"code": ',
        text.json_string(text.lookup(codes, np.maximum(coupon, 0))),
        ', "amount": ',
        text.json_string(text.money(discounts)),
        ', "type": "percentage"}]',
    )
    discount_codes = text.fill(discount_codes, coupon < 0, "[]")

    refunds = _refund_tokens(orders, o, kind, products, clock)
    refund_cents = _refunded_cents(orders, o)
    financial = np.select(
        [kind == CANCELLED, (kind == REFUNDED) & (refund_cents >= subtotal), kind == REFUNDED],
        [1, 2, 3],
        0,
    )
    person = orders.person[o]
    guest = orders.guest[o]
    email = text.coalesce(
        text.lookup(contacts.shopify_email, person),
        text.lookup(orders.guests.email, guest),
    )
    created = clock.iso(orders.at[o])
    cancelled_at = np.where(kind == CANCELLED, orders.cancelled_at[o], -1)
    return {
        "id": text.integers(FIRST_ORDER_ID + o),
        "name": text.json_string(text.concat("#", text.integers(1001 + o))),
        "email": text.json_string(email),
        "phone": text.json_raw(pa.nulls(n, pa.string())),
        "created_at": text.json_string(created),
        "updated_at": text.json_string(clock.iso(versions.updated_at[lo:hi])),
        "processed_at": text.json_string(created),
        "cancelled_at": text.json_string(
            text.with_nulls(clock.iso(np.maximum(cancelled_at, 0)), cancelled_at < 0)
        ),
        "cancel_reason": text.json_string(
            text.with_nulls(text.constant("customer", n), cancelled_at < 0)
        ),
        "currency": text.json_string(text.constant("EUR", n)),
        "financial_status": text.json_string(text.lookup(FINANCIAL_STATUSES, financial)),
        "fulfillment_status": text.json_string(
            text.with_nulls(text.constant("fulfilled", n), kind != REFUNDED)
        ),
        "source_name": text.json_string(text.constant("web", n)),
        "taxes_included": text.json_raw(text.constant("true", n)),
        "subtotal_price": text.json_string(text.money(subtotal)),
        "total_price": text.json_string(text.money(subtotal + shipping)),
        "total_discounts": text.json_string(text.money(discounts)),
        "total_tax": text.json_string(text.money(tax)),
        "discount_codes": discount_codes,
        "customer": text.json_raw(text.lookup(customers, person)),
        "line_items": text.json_arrays(line_tokens, counts),
        "refunds": refunds,
    }


def _refunded_cents(orders: Orders, o: np.ndarray) -> np.ndarray:
    """Amount refunded on each order (0 without refund): the paid price of the units back."""
    line = np.maximum(orders.refund_line[o], 0)
    lines = orders.lines
    per_unit = lines.amount_cents[line] / lines.quantity[line]
    cents = np.round(per_unit * orders.refund_quantity[o]).astype(np.int64)
    return np.where(orders.refund_line[o] >= 0, cents, 0)


def _refund_tokens(
    orders: Orders, o: np.ndarray, kind: np.ndarray, products: Products, clock: text.Clock
) -> pa.Array:
    """The `refunds` array of each version: one refund on a refund version, else empty."""
    has = kind == REFUNDED
    line = np.maximum(orders.refund_line[o], 0)
    refund_number = np.searchsorted(np.flatnonzero(orders.refund_line >= 0), o)
    cents = _refunded_cents(orders, o)
    tax = np.round(vat_part(cents, products.vat_rate[orders.lines.product[line]])).astype(np.int64)
    amount = text.json_string(text.money(cents))
    token = text.concat(
        '[{"id": ',
        text.integers(FIRST_REFUND_ID + refund_number),
        ', "created_at": ',
        text.json_string(clock.iso(np.maximum(orders.refunded_at[o], 0))),
        ', "refund_line_items": [{"id": ',
        text.integers(FIRST_REFUND_LINE_ID + refund_number),
        ', "line_item_id": ',
        text.integers(orders.line_item_id[line]),
        ', "quantity": ',
        text.integers(orders.refund_quantity[o]),
        ', "subtotal": ',
        amount,
        ', "total_tax": ',
        text.json_string(text.money(tax)),
        '}], "transactions": [{"id": ',
        text.integers(FIRST_TRANSACTION_ID + refund_number),
        ', "kind": "refund", "status": "success", "amount": ',
        amount,
        "}]}]",
    )
    return text.fill(token, ~has, "[]")


def render_customers(
    rows: CustomerRows,
    lo: int,
    hi: int,
    clock: text.Clock,
    persons: Persons,
    accounts: Accounts,
    contacts: Contacts,
) -> dict[str, pa.Array]:
    """JSON tokens of Shopify customer versions lo:hi."""
    person = rows.person[lo:hi]
    taken = pa.array(person)
    n = len(person)
    consent_at = rows.consent_updated_at[lo:hi]
    city = persons.city[person]
    address = text.concat(
        '{"zip": ',
        text.json_string(text.zero_padded(persons.postal_code[person], 5)),
        ', "city": ',
        text.json_string(text.lookup(text.strings(list(places.CITY_NAMES)), city)),
        ', "province": ',
        text.json_string(text.lookup(text.strings(list(places.CITY_PROVINCES)), city)),
        ', "country_code": "ES"}',
    )
    consent = text.concat(
        '{"state": ',
        text.json_string(text.lookup(text.strings(CONSENT_STATES), rows.consent[lo:hi])),
        ', "opt_in_level": "single_opt_in", "consent_updated_at": ',
        text.json_string(text.with_nulls(clock.iso(np.maximum(consent_at, 0)), consent_at < 0)),
        "}",
    )
    return {
        "id": text.integers(accounts.customer_id[person]),
        "email": text.json_string(contacts.shopify_email.take(taken)),
        "phone": text.json_string(contacts.shopify_phone.take(taken)),
        "first_name": text.json_string(persons.names.first_name.take(taken)),
        "last_name": text.json_string(persons.names.last_name.take(taken)),
        "created_at": text.json_string(clock.iso(accounts.account_created_at[person])),
        "updated_at": text.json_string(clock.iso(rows.updated_at[lo:hi])),
        "state": text.json_string(text.constant("enabled", n)),
        "verified_email": text.json_raw(text.booleans(contacts.verified_email[person])),
        "tags": text.json_string(text.constant("", n)),
        "currency": text.json_string(text.constant("EUR", n)),
        "email_marketing_consent": consent,
        "default_address": address,
    }
