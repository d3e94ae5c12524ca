"""The persons of the synthetic world: who they are (PII), how they buy (channels) and their latent
purchase, dropout and spend parameters.

Names come from Faker's es_ES word lists, sampled with numpy (calling Faker once per person would
be far too slow for a million people). Emails and phones are unique per person, so the only
records that share a contact are the ones the generator links on purpose (a card member's
online account).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker.providers.person.es_ES import Provider as SpanishNames

from dagster_project.lib.synthetic import places, text
from dagster_project.lib.synthetic.catalog import Stores
from dagster_project.lib.synthetic.params import PopulationParams, WorldParams

# Channel kinds
CARD_ONLY, BOTH, ONLINE_ONLY = 0, 1, 2
MARITAL_STATUSES = ("single", "married", "divorced", "widowed", "unknown")

EMAIL_DOMAINS = (
    "gmail.com",
    "hotmail.com",
    "yahoo.es",
    "outlook.es",
    "telefonica.net",
    "icloud.com",
    "hotmail.es",
)
EMAIL_DOMAIN_WEIGHTS = np.array([0.45, 0.22, 0.08, 0.12, 0.05, 0.05, 0.03])

FEMALE_NAMES = list(SpanishNames.first_names_female)
MALE_NAMES = list(SpanishNames.first_names_male)
SURNAMES = list(SpanishNames.last_names)


def ascii_fold(word: str) -> str:
    """Lower-case ASCII form of a name for an email address: "María José" -> "mariajose"."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if c.isascii() and c.isalnum()).lower()


@dataclass(frozen=True)
class Vocabulary:
    """Name lists as Arrow arrays, with their email-friendly folded forms."""

    first: pa.Array
    first_folded: pa.Array
    n_female: int
    surname: pa.Array
    surname_folded: pa.Array

    @classmethod
    def spanish(cls) -> Vocabulary:
        first = FEMALE_NAMES + MALE_NAMES
        return cls(
            first=text.strings(first),
            first_folded=text.strings([ascii_fold(w) for w in first]),
            n_female=len(FEMALE_NAMES),
            surname=text.strings(SURNAMES),
            surname_folded=text.strings([ascii_fold(w) for w in SURNAMES]),
        )


@dataclass(frozen=True)
class Names:
    """First name, surnames and a unique email of each person (or guest)."""

    first_name: pa.Array
    last_name: pa.Array  # two Spanish surnames
    email: pa.Array  # canonical: lower case, valid, unique
    alt_email: pa.Array  # a second address of the same person, also unique


def draw_names(
    rng: np.random.Generator, n: int, birth_year: np.ndarray, taken: pa.Array | None = None
) -> Names:
    """Names and two distinct addresses per person, none of them in `taken`."""
    vocab = Vocabulary.spanish()
    female = rng.random(n) < 0.58  # pharmacy customers are more often women
    first = np.where(
        female,
        rng.integers(0, vocab.n_female, n),
        rng.integers(vocab.n_female, len(vocab.first), n),
    )
    sur1 = rng.integers(0, len(vocab.surname), n)
    sur2 = rng.integers(0, len(vocab.surname), n)
    last_name = text.concat(text.lookup(vocab.surname, sur1), " ", text.lookup(vocab.surname, sur2))
    f, s1, s2 = (
        text.lookup(vocab.first_folded, first),
        text.lookup(vocab.surname_folded, sur1),
        text.lookup(vocab.surname_folded, sur2),
    )
    email = _emails(rng, f, s1, s2, birth_year, taken)
    alt_taken = email if taken is None else pa.concat_arrays([taken, email])
    alt_email = _emails(rng, f, s1, s2, birth_year, alt_taken)
    return Names(text.lookup(vocab.first, first), last_name, email, alt_email)


def _emails(
    rng: np.random.Generator,
    first: pa.Array,
    sur1: pa.Array,
    sur2: pa.Array,
    birth_year: np.ndarray,
    taken: pa.Array | None,
) -> pa.Array:
    n = len(first)
    yy = text.zero_padded(birth_year % 100, 2)
    initial = pc.utf8_slice_codeunits(first, 0, 1)
    patterns = [
        text.concat(first, ".", sur1),
        text.concat(first, ".", sur1, ".", sur2),
        text.concat(first, sur1),
        text.concat(initial, sur1, sur2),
        text.concat(first, sur1, yy),
        text.concat(first, "_", sur1, text.integers(rng.integers(1, 100, n))),
        text.concat(first, text.integers(birth_year)),
    ]
    weights = np.array([0.25, 0.1, 0.15, 0.15, 0.15, 0.1, 0.1])
    pattern = rng.choice(len(patterns), size=n, p=weights)
    local = pc.choose(pa.array(pattern, pa.int8()), *patterns)
    domain = text.lookup(
        text.strings(EMAIL_DOMAINS), rng.choice(len(EMAIL_DOMAINS), n, p=EMAIL_DOMAIN_WEIGHTS)
    )
    # Two people with the same name and pattern: the later one adds digits, as mail providers
    # make people do. Repeat until every address is new.
    while True:
        email = text.concat(local, "@", domain)
        clash = ~_first_occurrence(email)
        if taken is not None and len(taken):
            clash |= pc.is_in(email, value_set=taken).to_numpy(zero_copy_only=False)
        if not clash.any():
            return email
        digits = text.integers(rng.integers(1, 1000, n))
        local = pc.if_else(pa.array(clash), text.concat(local, digits), local)


def _first_occurrence(values: pa.Array) -> np.ndarray:
    """True where a value appears for the first time in the array."""
    ids = pc.index_in(values, value_set=pc.unique(values)).to_numpy(zero_copy_only=False)
    first = np.zeros(len(values), dtype=bool)
    first[np.unique(ids, return_index=True)[1]] = True
    return first


def spanish_mobiles(rng: np.random.Generator, n: int) -> np.ndarray:
    """Distinct Spanish mobile numbers (9 digits, 6xx or 71x-74x)."""
    draws = rng.choice(140_000_000, size=n, replace=False)
    return np.where(draws < 100_000_000, 600_000_000 + draws, 710_000_000 + draws - 100_000_000)


@dataclass(frozen=True)
class Persons:
    """Every person of the world; index i is person_id i + 1."""

    kind: np.ndarray  # CARD_ONLY, BOTH, ONLINE_ONLY
    is_prospect: np.ndarray  # a member who never buys
    online_share: np.ndarray  # probability that a purchase is online
    home_store: np.ndarray  # index into stores; -1 without a card
    city: np.ndarray  # index into places.CITIES
    postal_code: np.ndarray
    birth_date: np.ndarray  # datetime64[D]
    marital_status: np.ndarray  # index into MARITAL_STATUSES
    phone: np.ndarray  # 9 digits
    names: Names = field(repr=False)
    lam: np.ndarray  # purchase rate per day
    p: np.ndarray  # dropout probability after each repeat purchase
    nu: np.ndarray  # spend scale: mean spend is PopulationParams.p / nu
    birth_op: np.ndarray  # operational time of the first purchase (or enrolment of a prospect)

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def is_member(self) -> np.ndarray:
        return self.kind != ONLINE_ONLY

    @property
    def has_account(self) -> np.ndarray:
        return self.kind != CARD_ONLY


def make_persons(
    rng: np.random.Generator,
    n: int,
    stores: Stores,
    start: np.datetime64,
    horizon: float,
    population: PopulationParams,
    world: WorldParams,
) -> Persons:
    """Draw `n` persons: channels, home store, PII and latent parameters."""
    card_only = 1.0 - world.online_share
    both = world.member_share + world.online_share - 1.0
    u = rng.random(n)
    kind = np.where(u < card_only, CARD_ONLY, np.where(u < card_only + both, BOTH, ONLINE_ONLY))
    # Prospects are a share of all members, drawn among card-only members.
    is_prospect = (kind == CARD_ONLY) & (
        rng.random(n) < world.prospect_share * world.member_share / card_only
    )
    online_share = np.select(
        [kind == CARD_ONLY, kind == ONLINE_ONLY], [0.0, 1.0], rng.beta(2.0, 3.0, n)
    )

    is_member = kind != ONLINE_ONLY
    home_store = np.where(is_member, rng.choice(len(stores), size=n, p=stores.traffic), -1)
    city = np.where(
        is_member,
        stores.city[np.maximum(home_store, 0)],
        rng.choice(len(places.CITIES), n, p=places.CITY_WEIGHT),
    )

    # Ages 18-90 at the start, most between 35 and 75.
    age_days = ((18 + 72 * rng.beta(2.0, 2.6, n)) * 365.25).astype(np.int64)
    birth_date = start - age_days.astype("timedelta64[D]")
    birth_year = birth_date.astype("datetime64[Y]").astype(np.int64) + 1970
    age = age_days / 365.25

    return Persons(
        kind=kind,
        is_prospect=is_prospect,
        online_share=online_share,
        home_store=home_store,
        city=city,
        postal_code=places.postal_codes(rng, city),
        birth_date=birth_date,
        marital_status=_marital_status(rng, age),
        phone=spanish_mobiles(rng, n),
        names=draw_names(rng, n, birth_year),
        lam=rng.gamma(population.r, 1.0 / population.alpha, n),
        p=rng.beta(population.a, population.b, n),
        nu=rng.gamma(population.q, 1.0 / population.gamma, n),
        birth_op=rng.random(n) * horizon,
    )


def _marital_status(rng: np.random.Generator, age: np.ndarray) -> np.ndarray:
    # single, married, divorced, widowed, unknown — by age band
    young = np.array([0.75, 0.12, 0.01, 0.0, 0.12])
    middle = np.array([0.28, 0.52, 0.10, 0.02, 0.08])
    old = np.array([0.10, 0.55, 0.10, 0.18, 0.07])
    probs = np.where((age < 30)[:, None], young, np.where((age < 60)[:, None], middle, old))
    return (rng.random(len(age))[:, None] > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)
