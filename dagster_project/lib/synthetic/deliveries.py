"""The landing sources as deliveries: which rows land on which day, in which order, and how each
renders into the fields of docs/sources.md (CSV column names from `lib.sources.specs`)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pyarrow as pa

from dagster_project.lib.sources import specs
from dagster_project.lib.synthetic import consents, places, shopify, text, tickets
from dagster_project.lib.synthetic.dirty import (
    CSV_TEXT,
    DATE,
    JSON_TIMESTAMP,
    JSON_TOKEN,
    TIMESTAMP,
    FaultPlan,
)
from dagster_project.lib.synthetic.timeline import SECONDS_PER_DAY
from dagster_project.lib.synthetic.world import World
from dagster_project.lib.synthetic.writer import Delivery

ORDER_FIELDS = (
    "id", "name", "email", "phone", "created_at", "updated_at", "processed_at", "cancelled_at",
    "cancel_reason", "currency", "financial_status", "fulfillment_status", "source_name",
    "taxes_included", "subtotal_price", "total_price", "total_discounts", "total_tax",
    "discount_codes", "customer", "line_items", "refunds",
)  # fmt: skip
CUSTOMER_FIELDS = (
    "id", "email", "phone", "first_name", "last_name", "created_at", "updated_at", "state",
    "verified_email", "tags", "currency", "email_marketing_consent", "default_address",
)  # fmt: skip


def columns(source: specs.Source) -> tuple[str, ...]:
    return tuple(c.name for c in source.columns)


def _days(local_seconds: np.ndarray) -> np.ndarray:
    return (local_seconds // SECONDS_PER_DAY).astype(np.int64)


def stores_delivery(w: World) -> Delivery:
    s = w.stores

    def render(lo: int, hi: int) -> dict[str, pa.Array]:
        return {
            "store_id": text.strings(list(s.store_id[lo:hi])),
            "store_name": text.strings(list(s.store_name[lo:hi])),
            "city": text.strings(list(places.CITY_NAMES[s.city[lo:hi]])),
            "province": text.strings(list(places.CITY_PROVINCES[s.city[lo:hi]])),
            "postal_code": text.zero_padded(s.postal_code[lo:hi], 5),
            "opened_on": text.strings(np.datetime_as_string(s.opened_on[lo:hi], unit="D")),
        }

    faults = FaultPlan(
        dates=(("opened_on", DATE),), ids=(("store_id", CSV_TEXT),), names=("store_name", "city")
    )
    # The store master is delivered once, on the first day.
    return Delivery(
        "pos/stores",
        "stores.csv",
        columns(specs.POS_STORES),
        np.zeros(len(s), np.int64),
        render,
        faults,
    )


def products_delivery(w: World) -> Delivery:
    """A full snapshot on the first day, then on the 1st of every month."""
    p, timeline = w.products, w.clock.timeline
    all_days = np.arange(timeline.n_days)
    month = timeline.month_index(all_days)
    first_of_month = np.flatnonzero(np.diff(month, prepend=-1) != 0)  # day 0, then each 1st
    day = np.concatenate([np.full((p.launch_month <= month[d]).sum(), d) for d in first_of_month])
    product = np.concatenate([np.flatnonzero(p.launch_month <= month[d]) for d in first_of_month])
    active = p.end_month[product] > month[day]

    def render(lo: int, hi: int) -> dict[str, pa.Array]:
        i = product[lo:hi]
        return {
            "sku": text.strings(list(p.sku[i])),
            "product_name": text.strings(list(p.product_name[i])),
            "category": text.strings(list(p.category[i])),
            "subcategory": text.strings(list(p.subcategory[i])),
            "brand": text.strings(list(p.brand[i])),
            "is_prescription": text.booleans(p.is_prescription[i]),
            "list_price": text.money(p.list_cents[i]),
            "vat_rate": text.integers(p.vat_rate[i]),
            "is_active": text.booleans(active[lo:hi]),
            "unit_cost": text.money(p.unit_cost_cents[i]),
        }

    faults = FaultPlan(
        prices=(("list_price", CSV_TEXT),), ids=(("sku", CSV_TEXT),), names=("product_name",)
    )
    return Delivery(
        "catalog/products", "products.csv", columns(specs.CATALOG_PRODUCTS), day, render, faults
    )


def members_delivery(w: World) -> Delivery:
    render = partial(
        consents.render_members,
        w.members,
        clock=w.clock,
        persons=w.persons,
        accounts=w.accounts,
        store_ids=text.strings(list(w.stores.store_id)),
    )
    faults = FaultPlan(
        dates=(("enrolled_on", DATE), ("birth_date", DATE), ("updated_at", TIMESTAMP)),
        ids=(("card_id", CSV_TEXT),),
        names=("first_name", "last_name"),
    )
    return Delivery(
        "pos/members",
        "members.csv",
        columns(specs.POS_MEMBERS),
        _days(w.members.updated_at),
        render,
        faults,
    )


def tickets_delivery(w: World) -> Delivery:
    render = partial(
        tickets.render_tickets,
        w.ticket_lines,
        clock=w.clock,
        stores=w.stores,
        products=w.products,
        card_id=w.accounts.card_id,
    )
    faults = FaultPlan(
        dates=(("sold_at", TIMESTAMP),),
        prices=(("unit_price", CSV_TEXT),),
        ids=(("ticket_id", CSV_TEXT), ("sku", CSV_TEXT)),
    )
    day = w.ticket_lines.day.astype(np.int64)
    return Delivery("pos/tickets", "tickets.csv", columns(specs.POS_TICKETS), day, render, faults)


def orders_delivery(w: World) -> Delivery:
    customers = shopify.customer_objects(w.persons, w.accounts, w.contacts)
    render = partial(
        shopify.render_orders,
        w.order_versions,
        orders=w.orders,
        products=w.products,
        clock=w.clock,
        customers=customers,
        contacts=w.contacts,
        world=w.world,
    )
    faults = FaultPlan(
        dates=(("created_at", JSON_TIMESTAMP),),
        prices=(("subtotal_price", JSON_TOKEN),),
        ids=(("id", JSON_TOKEN),),
        names=("customer",),
    )
    day = _days(w.order_versions.updated_at)
    return Delivery("ecommerce/orders", "orders.jsonl", ORDER_FIELDS, day, render, faults)


def customers_delivery(w: World) -> Delivery:
    render = partial(
        shopify.render_customers,
        w.customers,
        clock=w.clock,
        persons=w.persons,
        accounts=w.accounts,
        contacts=w.contacts,
    )
    faults = FaultPlan(
        dates=(("created_at", JSON_TIMESTAMP),),
        ids=(("id", JSON_TOKEN),),
        names=("first_name", "last_name"),
    )
    day = _days(w.customers.updated_at)
    return Delivery("ecommerce/customers", "customers.jsonl", CUSTOMER_FIELDS, day, render, faults)


def unsubscribes_delivery(w: World) -> Delivery:
    render = partial(consents.render_unsubscribes, w.unsubscribes, clock=w.clock)
    faults = FaultPlan(dates=(("unsubscribed_at", TIMESTAMP),), ids=(("email", CSV_TEXT),))
    day = _days(w.unsubscribes.at)
    return Delivery(
        "marketing/unsubscribes",
        "unsubscribes.csv",
        columns(specs.MARKETING_UNSUBSCRIBES),
        day,
        render,
        faults,
    )


def campaign_activity_delivery(w: World) -> Delivery:
    render = partial(consents.render_campaign_activity, w.campaign_activity, clock=w.clock)
    faults = FaultPlan(dates=(("occurred_at", TIMESTAMP),), ids=(("email", CSV_TEXT),))
    day = _days(w.campaign_activity.at)
    return Delivery(
        "marketing/campaign_activity",
        "campaign_activity.csv",
        columns(specs.MARKETING_CAMPAIGN_ACTIVITY),
        day,
        render,
        faults,
    )


def erasures_delivery(w: World) -> Delivery:
    render = partial(
        consents.render_erasures,
        w.erasures,
        clock=w.clock,
        accounts=w.accounts,
        contacts=w.contacts,
    )
    faults = FaultPlan(dates=(("requested_at", TIMESTAMP),), ids=(("request_id", CSV_TEXT),))
    day = _days(w.erasures.at)
    return Delivery(
        "privacy/erasure_requests",
        "erasure_requests.csv",
        columns(specs.PRIVACY_ERASURE_REQUESTS),
        day,
        render,
        faults,
    )


BUILDERS = (
    stores_delivery,
    products_delivery,
    members_delivery,
    tickets_delivery,
    customers_delivery,
    orders_delivery,
    unsubscribes_delivery,
    campaign_activity_delivery,
    erasures_delivery,
)
LANDING_PATHS = (
    "pos/stores",
    "catalog/products",
    "pos/members",
    "pos/tickets",
    "ecommerce/customers",
    "ecommerce/orders",
    "marketing/unsubscribes",
    "marketing/campaign_activity",
    "privacy/erasure_requests",
)
