"""POS tickets: members' store purchases, anonymous walk-in tickets and returns.

A ticket is one row per line. Members' tickets carry their card number and are worth exactly the
value the spend model drew. Anonymous tickets come from people without a card: a Poisson number
per day following the same seasonality, with values from the population's spend distribution.
A few tickets come back within two weeks as a return: a ticket of its own at the same store,
negative quantities at the price paid, pointing at the original ticket.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.lib.synthetic import text
from dagster_project.lib.synthetic.baskets import STORE, Lines, ProductSampler, draw_baskets
from dagster_project.lib.synthetic.catalog import Products, Stores
from dagster_project.lib.synthetic.needs import Leaning
from dagster_project.lib.synthetic.params import PopulationParams, WorldParams
from dagster_project.lib.synthetic.people import Persons
from dagster_project.lib.synthetic.purchases import Purchases, population_values, rank_within
from dagster_project.lib.synthetic.timeline import SECONDS_PER_DAY, STORE_HOURS, Timeline

COUPONS = (
    ("FIDELIDAD5", 0.05),
    ("SALUD10", 0.10),
    ("BEBE10", 0.10),
    ("DERMO15", 0.15),
    ("VUELTA20", 0.20),
)


@dataclass(frozen=True)
class TicketLines:
    """All ticket lines, in file order: by time of sale, store and ticket number, then line."""

    day: np.ndarray
    at: np.ndarray
    store: np.ndarray
    seq: np.ndarray  # ticket number within its store and day, from 1
    person: np.ndarray  # card holder; -1 for an anonymous ticket
    line_number: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_cents: np.ndarray
    discount_cents: np.ndarray
    coupon: np.ndarray  # index into COUPONS; -1 for none
    original_store: np.ndarray  # on a return line: the returned ticket's store, day and number
    original_day: np.ndarray
    original_seq: np.ndarray  # -1 when not a return

    def __len__(self) -> int:
        return len(self.day)


def build_tickets(
    rng: np.random.Generator,
    purchases: Purchases,
    persons: Persons,
    stores: Stores,
    products: Products,
    sampler: ProductSampler,
    leaning: Leaning,
    timeline: Timeline,
    population: PopulationParams,
    world: WorldParams,
) -> TicketLines:
    # Members' store purchases: at the home store mostly, sometimes at another one.
    mine = np.flatnonzero(~purchases.online)
    person = purchases.person[mine].astype(np.int64)
    away = rng.random(len(mine)) >= world.home_store_share
    store = np.where(
        away, rng.choice(len(stores), len(mine), p=stores.traffic), persons.home_store[person]
    )

    # Anonymous tickets: a Poisson count per day with the same seasonality.
    expected = len(mine) * world.anonymous_ticket_share / (1 - world.anonymous_ticket_share)
    per_day = rng.poisson(expected * timeline.weight / timeline.weight.sum())
    anon_day = np.repeat(np.arange(timeline.n_days), per_day).astype(np.int32)
    n_anon = len(anon_day)

    day = np.concatenate([purchases.day[mine], anon_day])
    at = np.concatenate(
        [purchases.at[mine], timeline.clock(anon_day, rng.random(n_anon), STORE_HOURS)]
    )
    store = np.concatenate([store, rng.choice(len(stores), n_anon, p=stores.traffic)])
    person = np.concatenate([person, np.full(n_anon, -1)])
    value = np.concatenate(
        [purchases.value_cents[mine], population_values(rng, n_anon, population)]
    )
    n_sales = len(day)

    coupon = np.where(
        rng.random(n_sales) < world.pos_coupon_share, rng.integers(0, len(COUPONS), n_sales), -1
    )
    rates = np.array([c[1] for c in COUPONS])
    coupon_rate = np.where(coupon >= 0, rates[np.maximum(coupon, 0)], 0.0)
    lines = draw_baskets(
        rng,
        value,
        timeline.month_index(day),
        STORE,
        coupon_rate,
        products,
        sampler,
        person,
        leaning,
    )

    returned, r_lines, r_at = _returns(rng, lines, at, timeline, world)
    n_returns = len(returned)
    all_day = np.concatenate([day, (r_at // SECONDS_PER_DAY).astype(np.int32)])
    all_at = np.concatenate([at, r_at])
    all_store = np.concatenate([store, store[returned]])
    all_person = np.concatenate([person, person[returned]])
    all_coupon = np.concatenate([coupon, np.full(n_returns, -1)])
    original = np.concatenate([np.full(n_sales, -1), returned])

    position, seq = _number(all_store, all_day, all_at, timeline.n_days)

    # Lines of sales, then lines of returns (whose basket index is the return's ticket).
    line_ticket = np.concatenate([lines.basket, n_sales + r_lines.basket])
    line_order = np.argsort(position[line_ticket], kind="stable")
    t = line_ticket[line_order]
    orig = original[t]
    has_orig = orig >= 0
    orig_safe = np.maximum(orig, 0)

    def cat(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.concatenate([a, b])[line_order]

    return TicketLines(
        day=all_day[t],
        at=all_at[t],
        store=all_store[t],
        seq=seq[t],
        person=all_person[t],
        line_number=cat(lines.line_number, r_lines.line_number),
        product=cat(lines.product, r_lines.product),
        quantity=cat(lines.quantity, r_lines.quantity),
        unit_cents=cat(lines.unit_cents, r_lines.unit_cents),
        discount_cents=cat(lines.discount_cents, r_lines.discount_cents),
        coupon=all_coupon[t],
        original_store=np.where(has_orig, all_store[orig_safe], -1),
        original_day=np.where(has_orig, all_day[orig_safe], -1),
        original_seq=np.where(has_orig, seq[orig_safe], -1),
    )


def _number(
    store: np.ndarray, day: np.ndarray, at: np.ndarray, n_days: int
) -> tuple[np.ndarray, np.ndarray]:
    """File position of each ticket (by time, then store) and its number within its store and
    day (1, 2, … in time order)."""
    order = np.lexsort((np.arange(len(at)), store, at))
    position = np.empty_like(order)
    position[order] = np.arange(len(order))
    key = store[order].astype(np.int64) * n_days + day[order]
    grouped = np.argsort(key, kind="stable")
    seq = np.empty(len(order), dtype=np.int64)
    seq[order[grouped]] = rank_within(np.unique(key[grouped], return_counts=True)[1]) + 1
    return position, seq


def _returns(
    rng: np.random.Generator, lines: Lines, at: np.ndarray, timeline: Timeline, world: WorldParams
) -> tuple[np.ndarray, Lines, np.ndarray]:
    """Tickets returned 1-14 days later (within the period): which, their lines and when."""
    n = len(lines.counts)
    lag = rng.integers(1, 15, n)
    day = at // SECONDS_PER_DAY + lag
    returned = np.flatnonzero((rng.random(n) < world.return_share) & (day < timeline.n_days))
    r_at = timeline.clock(day[returned], rng.random(len(returned)), STORE_HOURS)

    # Each line of a returned ticket comes back with probability 1/2 (the first one when none
    # would), with part of its quantity.
    is_returned = np.zeros(n, dtype=bool)
    is_returned[returned] = True
    candidate = is_returned[lines.basket]
    pick = candidate & (rng.random(len(lines)) < 0.5)
    picked_per_ticket = np.bincount(lines.basket[pick], minlength=n)
    pick |= candidate & (lines.line_number == 1) & (picked_per_ticket[lines.basket] == 0)
    src = np.flatnonzero(pick)
    back = 1 + rng.binomial(lines.quantity[src] - 1, 0.5)
    # Renumber the chosen lines 1, 2, … within each return ticket (index in `returned`).
    ret_index = np.searchsorted(returned, lines.basket[src])
    counts = np.bincount(ret_index, minlength=len(returned))
    r_lines = Lines(
        basket=ret_index,
        line_number=rank_within(counts) + 1,
        product=lines.product[src],
        quantity=-back,
        unit_cents=lines.unit_cents[src],
        discount_cents=np.zeros(len(src), dtype=np.int64),
        counts=counts,
    )
    return returned, r_lines, r_at


def ticket_ids(clock: text.Clock, store: np.ndarray, day: np.ndarray, seq: np.ndarray) -> pa.Array:
    """`T<store>-<yyyymmdd>-<number>`, e.g. T007-20250301-0042; null where `seq` is -1."""
    compact = text.strings([label.replace("-", "") for label in clock.day_labels])
    ids = text.concat(
        "T",
        text.zero_padded(np.maximum(store, 0) + 1, 3),
        "-",
        text.lookup(compact, np.maximum(day, 0)),
        "-",
        text.zero_padded(np.maximum(seq, 0), 4),
    )
    return text.with_nulls(ids, seq < 0) if (seq < 0).any() else ids


def render_tickets(
    lines: TicketLines,
    lo: int,
    hi: int,
    clock: text.Clock,
    stores: Stores,
    products: Products,
    card_id: pa.Array,
) -> dict[str, pa.Array]:
    """The CSV fields of ticket lines lo:hi, named as the pos/tickets contract."""
    s = slice(lo, hi)
    # Ticket-level fields are rendered once per ticket, then repeated on its lines.
    first = lo + np.flatnonzero(lines.line_number[s] == 1)
    per_line = pa.array(np.cumsum(lines.line_number[s] == 1) - 1)
    returns = first[lines.original_seq[first] >= 0]
    original = text.with_nulls(text.constant("", len(first)), np.ones(len(first), dtype=bool))
    if len(returns):
        ids = ticket_ids(
            clock,
            lines.original_store[returns],
            lines.original_day[returns],
            lines.original_seq[returns],
        )
        original = pc.replace_with_mask(original, pa.array(lines.original_seq[first] >= 0), ids)
    quantity = lines.quantity[s]
    unit = lines.unit_cents[s]
    discount = lines.discount_cents[s]
    coupon_codes = text.strings([c[0] for c in COUPONS])
    return {
        "ticket_id": ticket_ids(clock, lines.store[first], lines.day[first], lines.seq[first]).take(
            per_line
        ),
        "line_number": text.integers(lines.line_number[s]),
        "store_id": text.lookup(text.strings(list(stores.store_id)), lines.store[first]).take(
            per_line
        ),
        "sold_at": clock.local(lines.at[first]).take(per_line),
        "card_id": text.lookup(card_id, lines.person[first]).take(per_line),
        "sku": text.lookup(text.strings(list(products.sku)), lines.product[s]),
        "quantity": text.integers(quantity),
        "unit_price": text.money(unit),
        "discount_amount": text.money(discount),
        "line_amount": text.money(quantity * unit - discount),
        "coupon_code": text.lookup(coupon_codes, lines.coupon[first]).take(per_line),
        "original_ticket_id": original.take(per_line),
    }
