"""Loyalty cards and online accounts: when each person got them and their numbers.

A member enrols in a store on or before their first purchase (most often the same visit);
an online account is created just before the first online order, or at some point after the
person's first purchase when they never order online. Numbers are issued in time order, as a
real card system and Shopify do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dagster_project.lib.synthetic import text
from dagster_project.lib.synthetic.params import WorldParams
from dagster_project.lib.synthetic.people import Persons
from dagster_project.lib.synthetic.purchases import Histories, Purchases
from dagster_project.lib.synthetic.timeline import (
    ONLINE_HOURS,
    SECONDS_PER_DAY,
    STORE_HOURS,
    Timeline,
)

FIRST_CUSTOMER_ID = 7_010_000_000_001


@dataclass(frozen=True)
class Accounts:
    """Per person: card and online account, or -1 / null when they have none."""

    card_id: pa.Array  # text, null without a card
    enrolled_at: np.ndarray  # local seconds; -1 without a card
    customer_id: np.ndarray  # Shopify customer id; -1 without an account
    account_created_at: np.ndarray  # local seconds; -1 without an account


def _issue_numbers(at: np.ndarray, holders: np.ndarray) -> np.ndarray:
    """Rank of each holder by issue time (ties by person), -1 for the others."""
    idx = np.flatnonzero(holders)
    order = idx[np.lexsort((idx, at[idx]))]
    rank = np.full(len(at), -1, dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank


def open_accounts(
    rng: np.random.Generator,
    persons: Persons,
    purchases: Purchases,
    histories: Histories,
    timeline: Timeline,
    world: WorldParams,
) -> Accounts:
    n = len(persons)
    buys = histories.first >= 0
    first = np.maximum(histories.first, 0)
    first_at = purchases.at[first]
    first_day = purchases.day[first]
    first_online = purchases.online[first]

    # Members: same visit mostly, else up to two months earlier (not before the first day).
    # A member whose first purchase is online got the card on an earlier store visit.
    lead = np.where(
        (rng.random(n) < world.enrol_same_day_share) & ~first_online,
        0,
        rng.integers(1, world.enrol_max_lead_days + 1, n),
    )
    lead = np.minimum(lead, first_day)
    minutes_before = first_at - rng.integers(60, 900, n)
    same_day = np.maximum(
        minutes_before, first_day.astype(np.int64) * SECONDS_PER_DAY + STORE_HOURS[0]
    )
    same_day = np.minimum(same_day, first_at)
    earlier = timeline.clock(first_day - lead, rng.random(n), STORE_HOURS)
    enrolled_at = np.where(lead > 0, earlier, same_day)
    # Prospects enrol at their "birth" and never buy.
    p_day, p_frac = timeline.locate(persons.birth_op)
    enrolled_at = np.where(buys, enrolled_at, timeline.clock(p_day, p_frac, STORE_HOURS))
    enrolled_at = np.where(persons.is_member, enrolled_at, -1)
    card_rank = _issue_numbers(enrolled_at, persons.is_member)
    card_id = text.with_nulls(
        text.concat("29", text.zero_padded(np.maximum(card_rank, 0) + 1, 10)), card_rank < 0
    )

    # Online accounts: just before the first online order, else some time after the first
    # purchase.
    online_idx = np.flatnonzero(purchases.online)
    owners, first_pos = np.unique(purchases.person[online_idx], return_index=True)
    first_online_at = np.full(n, -1, dtype=np.int64)
    first_online_at[owners] = purchases.at[online_idx[first_pos]]
    signup = first_online_at - rng.integers(60, 600, n)
    signup = np.maximum(signup, first_online_at // SECONDS_PER_DAY * SECONDS_PER_DAY)
    later_op = persons.birth_op + rng.random(n) * (timeline.horizon - persons.birth_op)
    l_day, l_frac = timeline.locate(later_op)
    created_at = np.where(first_online_at >= 0, signup, timeline.clock(l_day, l_frac, ONLINE_HOURS))
    created_at = np.where(persons.has_account, created_at, -1)
    customer_rank = _issue_numbers(created_at, persons.has_account)
    customer_id = np.where(customer_rank >= 0, FIRST_CUSTOMER_ID + customer_rank, -1)
    return Accounts(card_id, enrolled_at, customer_id, created_at)
