"""Simulating the whole world once: stores, catalogue, persons, their purchases and records.

Every part draws from its own random stream (see `params.STREAMS`), in a fixed order, so the
world is a pure function of its arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from dagster_project.lib.synthetic import (
    accounts,
    catalog,
    consents,
    needs,
    people,
    purchases,
    shopify,
    text,
    tickets,
)
from dagster_project.lib.synthetic.baskets import ProductSampler
from dagster_project.lib.synthetic.params import PopulationParams, WorldParams, stream
from dagster_project.lib.synthetic.timeline import Timeline


@dataclass(frozen=True)
class World:
    """Everything the landing files and the truth are rendered from."""

    clock: text.Clock
    population: PopulationParams
    world: WorldParams
    stores: catalog.Stores
    products: catalog.Products
    persons: people.Persons
    needs: np.ndarray  # per person: index into needs.NEEDS, or needs.NO_NEED
    purchases: purchases.Purchases
    histories: purchases.Histories
    accounts: accounts.Accounts
    contacts: consents.Contacts
    members: consents.MemberRows
    ticket_lines: tickets.TicketLines
    orders: shopify.Orders
    order_versions: shopify.OrderVersions
    customers: consents.CustomerRows
    unsubscribes: consents.Unsubscribes
    campaign_activity: consents.CampaignActivity
    erasures: consents.Erasures

    @property
    def timeline(self) -> Timeline:
        return self.clock.timeline

    def cancelled_per_person(self) -> np.ndarray:
        """Orders of each person whose cancellation was delivered within the period."""
        cancelled = (self.orders.cancelled_at >= 0) & (self.orders.person >= 0)
        return np.bincount(self.orders.person[cancelled], minlength=len(self.persons))


def simulate_world(
    customers: int,
    timeline: Timeline,
    seed: int,
    population: PopulationParams,
    world: WorldParams,
    say: Callable[[str], None],
) -> World:
    first_day = np.datetime64(timeline.start, "D")
    say(f"stores and catalogue ({timeline.n_days} days)")
    rng = stream(seed, "catalog")
    stores = catalog.make_stores(rng, customers, world, first_day)
    products = catalog.make_products(rng, timeline.n_months, world)
    sampler = ProductSampler(products, timeline.n_months)

    say(f"{customers:,} persons")
    persons = people.make_persons(
        stream(seed, "people"), customers, stores, first_day, timeline.horizon, population, world
    )
    rng = stream(seed, "needs")
    person_needs = needs.draw_needs(rng, len(persons), world.need_share)
    leaning = needs.Leaning(person_needs, world.need_line_share, rng)
    say("purchase histories")
    bought, histories = purchases.simulate(stream(seed, "purchases"), persons, timeline, population)
    acc = accounts.open_accounts(
        stream(seed, "accounts"), persons, bought, histories, timeline, world
    )
    contacts = consents.make_contacts(stream(seed, "contacts"), persons, world)

    say(f"POS tickets for {int((~bought.online).sum()):,} store purchases")
    ticket_lines = tickets.build_tickets(
        stream(seed, "tickets"),
        bought,
        persons,
        stores,
        products,
        sampler,
        leaning,
        timeline,
        population,
        world,
    )
    say(f"Shopify orders for {int(bought.online.sum()):,} online purchases")
    orders = shopify.build_orders(
        stream(seed, "orders"),
        bought,
        persons,
        products,
        sampler,
        leaning,
        timeline,
        population,
        world,
    )
    say("members, online customers, opt-outs and erasure requests")
    members = consents.member_rows(stream(seed, "members"), persons, acc, contacts, timeline, world)
    customer_rows = consents.customer_rows(
        stream(seed, "shopify_customers"), persons, acc, timeline, world
    )
    listed = consents.mailing_list(persons, contacts, members, customer_rows)
    unsubscribes = consents.unsubscribes(stream(seed, "marketing"), listed, timeline, world)
    activity = consents.campaign_activity(
        stream(seed, "campaign_activity"), listed, timeline, world
    )
    erasures = consents.erasures(
        stream(seed, "erasures"), persons, acc, bought, histories, timeline, world
    )
    return World(
        clock=text.Clock(timeline),
        population=population,
        world=world,
        stores=stores,
        products=products,
        persons=persons,
        needs=person_needs,
        purchases=bought,
        histories=histories,
        accounts=acc,
        contacts=contacts,
        members=members,
        ticket_lines=ticket_lines,
        orders=orders,
        order_versions=shopify.order_versions(orders),
        customers=customer_rows,
        unsubscribes=unsubscribes,
        campaign_activity=activity,
        erasures=erasures,
    )
