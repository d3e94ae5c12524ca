"""The purchase process: BG/NBD in operational time, Gamma-Gamma spend.

Each buyer makes a first purchase at their birth; repeat purchases then follow a Poisson process
of rate lambda, and after each repeat purchase the person drops out with probability p (exactly
the BG/NBD story of Fader, Hardie & Lee 2005, in which the first purchase cannot be the last by
dropout). The whole population is simulated at once:

- the number of repeat purchases the person would make if they never dropped out is
  M ~ Poisson(lambda * T), T the time from birth to the end;
- the repeat purchase after which they drop out is K ~ Geometric(p);
- they make min(M, K) repeat purchases and have dropped out by the end iff K <= M;
- given M, the purchase times are the order statistics of M uniforms over (birth, end]. Only the
  first min(M, K) are needed; they come from exponential spacings, S_j / (S_k + G) with
  G ~ Gamma(M + 1 - k), so the draws are proportional to the purchases actually made.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.lib.synthetic.params import PopulationParams
from dagster_project.lib.synthetic.people import Persons
from dagster_project.lib.synthetic.timeline import ONLINE_HOURS, STORE_HOURS, Timeline


@dataclass(frozen=True)
class Purchases:
    """Every purchase of every person, grouped by person and in time order within a person."""

    person: np.ndarray  # person index
    op_time: np.ndarray  # operational time
    day: np.ndarray  # day index
    at: np.ndarray  # local seconds since the first midnight
    online: np.ndarray  # an online order, else a store ticket
    value_cents: np.ndarray  # z: net value of the ticket / order merchandise, VAT included
    is_first: np.ndarray

    def __len__(self) -> int:
        return len(self.person)


@dataclass(frozen=True)
class Histories:
    """Per person: how many purchases and whether they dropped out before the end."""

    n_purchases: np.ndarray
    dropped_out: np.ndarray
    first: np.ndarray  # index of the first purchase in Purchases; -1 for prospects


def segment_starts(counts: np.ndarray) -> np.ndarray:
    """Start offset of each segment of consecutive items, given the segment sizes."""
    counts = np.asarray(counts, dtype=np.int64)
    return np.cumsum(counts) - counts


def rank_within(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each segment of consecutive items, given the segment sizes."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(segment_starts(counts), counts)


def population_values(rng: np.random.Generator, n: int, population: PopulationParams) -> np.ndarray:
    """Values (cents) of purchases by people outside the panel (anonymous tickets, guest
    checkouts): each from a fresh spend scale, so they follow the population's distribution."""
    nu = rng.gamma(population.q, 1.0 / population.gamma, n)
    return np.maximum(np.round(rng.gamma(population.p, 1.0 / nu) * 100), 1).astype(np.int64)


def simulate_process(
    rng: np.random.Generator,
    lam: np.ndarray,
    p: np.ndarray,
    birth: np.ndarray,
    horizon: float,
    buys: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Repeat-purchase times of a BG/NBD population observed until `horizon`.

    Returns (repeats per person, dropped out by the horizon, repeat times grouped by person in
    time order). Persons with `buys` false make no purchase at all.
    """
    exposure = np.where(buys, horizon - birth, 0.0)
    would_make = rng.poisson(lam * exposure)
    dropout_at = rng.geometric(p)
    repeats = np.where(buys, np.minimum(would_make, dropout_at), 0)
    dropped_out = buys & (dropout_at <= would_make)

    owner = np.repeat(np.arange(len(lam)), repeats)
    spacing = rng.standard_exponential(int(repeats.sum()))
    partial = np.cumsum(spacing)
    starts = segment_starts(repeats)
    before = np.zeros(len(lam))
    later = np.flatnonzero(starts > 0)
    before[later] = partial[starts[later] - 1]
    partial -= np.repeat(before, repeats)  # S_j within each person
    last = np.zeros(len(lam))
    has = repeats > 0
    last[has] = partial[starts[has] + repeats[has] - 1]
    rest = rng.gamma(np.maximum(would_make - repeats + 1, 1).astype(np.float64))
    uniform = partial / np.repeat(last + rest, repeats)
    times = birth[owner] + exposure[owner] * uniform
    return repeats, dropped_out, times


def simulate(
    rng: np.random.Generator,
    persons: Persons,
    timeline: Timeline,
    population: PopulationParams,
) -> tuple[Purchases, Histories]:
    """All purchases of all persons, with channel, local time and value."""
    buys = ~persons.is_prospect
    repeats, dropped_out, repeat_times = simulate_process(
        rng, persons.lam, persons.p, persons.birth_op, timeline.horizon, buys
    )
    n_purchases = np.where(buys, repeats + 1, 0)
    person = np.repeat(np.arange(len(persons)), n_purchases).astype(np.int32)
    rank = rank_within(n_purchases)
    is_first = rank == 0
    op_time = np.empty(len(person))
    op_time[is_first] = persons.birth_op[buys]
    op_time[~is_first] = repeat_times

    day, frac = timeline.locate(op_time)
    online = rng.random(len(person)) < persons.online_share[person]
    at = np.where(
        online, timeline.clock(day, frac, ONLINE_HOURS), timeline.clock(day, frac, STORE_HOURS)
    )
    value = rng.gamma(population.p, 1.0 / persons.nu[person])
    value_cents = np.maximum(np.round(value * 100), 1).astype(np.int64)

    first = np.where(buys, segment_starts(n_purchases), -1)
    purchases = Purchases(person, op_time, day, at, online, value_cents, is_first)
    return purchases, Histories(n_purchases, dropped_out, first)
