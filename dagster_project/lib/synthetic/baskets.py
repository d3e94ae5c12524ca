"""Filling a purchase with lines: which products, how many, at what price.

A purchase's value z was drawn by the spend model; the lines must add up to exactly z (net of
discounts, to the cent) so that the Gamma-Gamma truth can be recovered from the files. The value
is split into per-line budgets, each line gets a popular product whose shelf price is near its
budget, and then all unit prices of the basket are scaled by one factor so the total lands on z
(pharmacies price below or above the shelf price with promotions and packs). The rounding
remainder goes to the first line, whose quantity is always 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.lib.synthetic.catalog import CATEGORIES, Products
from dagster_project.lib.synthetic.needs import NO_NEED, Leaning
from dagster_project.lib.synthetic.purchases import rank_within, segment_starts

STORE, ONLINE = 0, 1
MAX_LINES = 8


@dataclass(frozen=True)
class Lines:
    """The lines of a set of baskets, grouped by basket in line order."""

    basket: np.ndarray  # index of the basket the line belongs to
    line_number: np.ndarray  # from 1
    product: np.ndarray  # product index
    quantity: np.ndarray
    unit_cents: np.ndarray
    discount_cents: np.ndarray
    counts: np.ndarray  # lines per basket

    def __len__(self) -> int:
        return len(self.basket)

    @property
    def amount_cents(self) -> np.ndarray:
        return self.quantity * self.unit_cents - self.discount_cents

    @property
    def starts(self) -> np.ndarray:
        return segment_starts(self.counts)


class ProductSampler:
    """Draws products by popularity among those with a shelf price in a band, per channel and
    month (a product is sold from its launch month until it is discontinued).

    The cumulative popularity of the price-sorted catalogue of every (channel, month) is laid
    end to end in one increasing array, so a whole batch of restricted draws is one
    `searchsorted`.
    """

    def __init__(self, products: Products, n_months: int, category: str | None = None) -> None:
        # A sampler of one category (for the lines a need leans toward) is the same sampler
        # with every other product's popularity at zero.
        self.products = products
        self.within_category: dict[int, ProductSampler] = {}
        in_category = (
            np.ones(len(products), bool) if category is None else products.category == category
        )
        self.order = np.argsort(products.list_cents, kind="stable")
        self.sorted_euros = products.list_cents[self.order] / 100.0
        months = np.arange(n_months)[:, None]
        on_sale = (products.launch_month[self.order] <= months) & (
            products.end_month[self.order] > months
        )
        weights = np.stack(
            [
                on_sale * (products.pos_weight * in_category)[self.order],
                on_sale * (products.online_weight * in_category)[self.order],
            ]
        )  # (channel, month, product)
        cum = np.concatenate(
            [np.zeros((*weights.shape[:2], 1)), np.cumsum(weights, axis=2)], axis=2
        )
        self.n_products = len(products)
        self.n_months = n_months
        self.cum = cum.reshape(-1, self.n_products + 1)  # row = channel * n_months + month
        self.row_span = float(self.cum[:, -1].max()) + 1.0
        self.flat = (self.cum + np.arange(len(self.cum))[:, None] * self.row_span).ravel()

    def of_category(self, category: int) -> ProductSampler:
        """The sampler of the products of CATEGORIES[category], made once."""
        if category not in self.within_category:
            self.within_category[category] = ProductSampler(
                self.products, self.n_months, CATEGORIES[category].name
            )
        return self.within_category[category]

    def draw(
        self, rng: np.random.Generator, target_euros: np.ndarray, month: np.ndarray, channel: int
    ) -> np.ndarray:
        """One product per target shelf price, popular ones first, priced 0.6-1.6 x target."""
        n_products = self.n_products
        lo = np.searchsorted(self.sorted_euros, 0.6 * target_euros, side="left")
        hi = np.searchsorted(self.sorted_euros, 1.6 * target_euros, side="right")
        # Too few products in the band (very cheap or very dear targets): the 5 nearest.
        narrow = hi - lo < 5
        near = np.clip(np.searchsorted(self.sorted_euros, target_euros) - 2, 0, n_products - 5)
        lo = np.where(narrow, near, lo)
        hi = np.where(narrow, near + 5, hi)
        row = channel * self.n_months + month
        mass = self.cum[row, hi] - self.cum[row, lo]
        # Nothing on sale in the band for this channel and month: any product on sale.
        empty = mass <= 0
        lo = np.where(empty, 0, lo)
        hi = np.where(empty, n_products, hi)
        base = self.cum[row, lo]
        mass = self.cum[row, hi] - base
        point = row * self.row_span + base + rng.random(len(target_euros)) * mass
        position = np.searchsorted(self.flat, point, side="right") - 1 - row * (n_products + 1)
        return self.order[np.clip(position, lo, hi - 1)]


def draw_baskets(
    rng: np.random.Generator,
    value_cents: np.ndarray,
    month: np.ndarray,
    channel: int,
    coupon_rate: np.ndarray,
    products: Products,
    sampler: ProductSampler,
    person: np.ndarray,
    leaning: Leaning,
) -> Lines:
    """Lines of baskets whose net totals (after `coupon_rate` discounts) equal `value_cents`;
    part of the lines of a `person` with a need are drawn from the need's categories."""
    n = len(value_cents)
    euros = value_cents / 100.0
    counts = np.clip(1 + rng.poisson(euros / 20.0), 1, MAX_LINES)
    basket = np.repeat(np.arange(n), counts)
    line_number = rank_within(counts) + 1
    starts = segment_starts(counts)

    share = rng.gamma(2.0, 1.0, len(basket))
    share /= np.add.reduceat(share, starts)[basket]
    quantity = np.where(
        line_number == 1, 1, rng.choice([1, 2, 3], size=len(basket), p=[0.8, 0.15, 0.05])
    )
    gross = value_cents / (1.0 - coupon_rate)
    unit_target = gross[basket] * share / quantity / 100.0
    # A dear line is several units of a product rather than one product priced absurdly.
    more = (line_number > 1) & (unit_target > 45.0)
    quantity = np.where(more, np.minimum(np.ceil(unit_target / 35.0), 12), quantity).astype(
        np.int64
    )
    unit_target = gross[basket] * share / quantity / 100.0
    product = sampler.draw(rng, unit_target, month[basket], channel)
    lean_to = leaning.categories(person, counts)
    for category in np.unique(lean_to[lean_to != NO_NEED]):
        lines_of = np.flatnonzero(lean_to == category)
        product[lines_of] = sampler.of_category(int(category)).draw(
            leaning.rng, unit_target[lines_of], month[basket][lines_of], channel
        )

    shelf = products.list_cents[product]
    # Coupons never discount prescription medicines (their price is regulated).
    rate = np.where(products.is_prescription[product], 0.0, coupon_rate[basket])
    factor = value_cents / np.add.reduceat(quantity * shelf * (1.0 - rate), starts)
    unit = np.maximum(np.round(shelf * factor[basket]), 1).astype(np.int64)
    discount = np.round(quantity * unit * rate).astype(np.int64)
    net = np.add.reduceat(quantity * unit - discount, starts)
    # The rounding remainder goes to the first line (quantity 1), so the total is exact.
    unit[starts] = np.maximum(unit[starts] + (value_cents - net), discount[starts] + 1)
    return Lines(basket, line_number.astype(np.int64), product, quantity, unit, discount, counts)
