"""The purchase process is the one the truth describes: BG/NBD and Gamma-Gamma parameters are
recovered by `lifetimes` from the simulation and from the generated files; baskets add up to the
drawn values; the calendar carries the seasonality."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter

from dagster_project.lib.synthetic import generate
from dagster_project.lib.synthetic.baskets import ONLINE, STORE, ProductSampler, draw_baskets
from dagster_project.lib.synthetic.catalog import make_products
from dagster_project.lib.synthetic.needs import NEEDS, NO_NEED, Leaning, draw_needs
from dagster_project.lib.synthetic.params import DEFAULT_POPULATION as TRUE
from dagster_project.lib.synthetic.params import DEFAULT_WORLD
from dagster_project.lib.synthetic.purchases import segment_starts, simulate_process
from dagster_project.lib.synthetic.timeline import Timeline, easter_sunday, madrid_offset


def _close(fitted: float, true: float, tolerance: float) -> bool:
    return abs(fitted / true - 1) < tolerance


@pytest.fixture(scope="module")
def year2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """20,000 customers over the default two years."""
    root = tmp_path_factory.mktemp("two_years")
    generate(root, customers=20_000, seed=11)
    return root


def test_bgnbd_is_recovered_in_operational_time() -> None:
    rng = np.random.default_rng(5)
    n, horizon = 20_000, 731.0
    lam = rng.gamma(TRUE.r, 1 / TRUE.alpha, n)
    p = rng.beta(TRUE.a, TRUE.b, n)
    birth = rng.random(n) * horizon
    repeats, dropped, times = simulate_process(rng, lam, p, birth, horizon, np.ones(n, dtype=bool))
    last = np.where(repeats > 0, times[np.maximum(segment_starts(repeats) + repeats - 1, 0)], birth)
    assert (np.diff(times)[np.diff(np.repeat(np.arange(n), repeats)) == 0] >= 0).all()
    assert (dropped <= (repeats > 0)).all()  # dropout only after a repeat purchase
    fit = BetaGeoFitter().fit(repeats, last - birth, horizon - birth).params_
    assert _close(fit["r"], TRUE.r, 0.1) and _close(fit["alpha"], TRUE.alpha, 0.1), fit
    assert _close(fit["a"], TRUE.a, 0.25) and _close(fit["b"], TRUE.b, 0.25), fit


def test_bgnbd_is_recovered_from_the_generated_history(year2: Path) -> None:
    """Fitted in calendar days, where seasonality bends the process a little."""
    truth = pd.read_parquet(year2 / "_truth" / "customers.parquet")
    buyers = truth[truth["n_purchases"] > 0]
    end = pd.Timestamp("2026-01-01")
    days = pd.Timedelta(days=1)
    fit = (
        BetaGeoFitter()
        .fit(
            buyers["n_purchases"] - 1,
            (buyers["last_purchase_at"] - buyers["first_purchase_at"]) / days,
            (end - buyers["first_purchase_at"]) / days,
        )
        .params_
    )
    assert _close(fit["r"], TRUE.r, 0.15) and _close(fit["alpha"], TRUE.alpha, 0.15), fit
    assert _close(fit["a"], TRUE.a, 0.3) and _close(fit["b"], TRUE.b, 0.3), fit
    # The latent parameters in the truth are draws from the population they claim.
    assert _close(truth["purchase_rate_per_day"].mean(), TRUE.r / TRUE.alpha, 0.05)
    assert _close(truth["dropout_probability"].mean(), TRUE.a / (TRUE.a + TRUE.b), 0.05)


def test_gamma_gamma_is_recovered_from_ticket_and_order_values(year2: Path) -> None:
    con = duckdb.connect()
    values = con.sql(
        f"""
        with tickets as (
            select card_id, sum(line_amount::decimal(18, 2)) as amount
            from read_csv('{year2}/pos/tickets/*/*.csv', all_varchar = true)
            where card_id is not null and original_ticket_id is null
            group by ticket_id, card_id
        ), orders as (
            select customer.id as customer_id, cast(subtotal_price as decimal(18,2)) as amount,
                   cancelled_at,
                   row_number() over (partition by id order by updated_at desc) as version
            from read_json('{year2}/ecommerce/orders/*/*.jsonl', format = 'newline_delimited',
                           columns = {{id: 'BIGINT', updated_at: 'VARCHAR', cancelled_at: 'VARCHAR',
                                       subtotal_price: 'VARCHAR', customer: 'STRUCT(id BIGINT)'}})
        ), truth as (select * from read_parquet('{year2}/_truth/customers.parquet'))
        select t.person_id, v.amount::double as amount
        from tickets v join truth t on v.card_id = t.card_id
        union all
        select t.person_id, v.amount::double
        from orders v join truth t on v.customer_id = t.shopify_customer_id
        where v.version = 1 and v.cancelled_at is null
        """
    ).df()
    assert 25 < values["amount"].mean() < 31  # a pharmacy ticket
    per_person = values.groupby("person_id")["amount"].agg(["count", "mean"])
    fit = GammaGammaFitter().fit(per_person["count"], per_person["mean"]).params_
    assert _close(fit["p"], TRUE.p, 0.15) and _close(fit["q"], TRUE.q, 0.15), fit
    assert _close(fit["v"], TRUE.gamma, 0.15), fit


def test_baskets_add_up_to_the_drawn_values() -> None:
    rng = np.random.default_rng(1)
    products = make_products(rng, 12, DEFAULT_WORLD)
    sampler = ProductSampler(products, 12)
    n = 50_000
    value = np.maximum(np.round(rng.gamma(6.0, 28.0 / 6.0, n) * 100), 1).astype(np.int64)
    value[:100] = np.arange(1, 101)  # tiny tickets too
    coupon = np.where(rng.random(n) < 0.3, 0.15, 0.0)
    for channel in (STORE, ONLINE):
        month = rng.integers(0, 12, n)
        person = np.arange(n)
        leaning = Leaning(draw_needs(rng, n, 0.6), 0.5, np.random.default_rng(2))
        lines = draw_baskets(rng, value, month, channel, coupon, products, sampler, person, leaning)
        totals = np.bincount(lines.basket, weights=lines.amount_cents, minlength=n)
        assert (totals == value).all()
        assert (lines.quantity > 0).all() and (lines.unit_cents > 0).all()
        assert lines.counts.min() >= 1 and lines.counts.max() <= 8
        assert (lines.amount_cents > 0).all()
        # Prices stay near the shelf price: the scaling factor is a promotion, not a new price.
        ratio = lines.unit_cents / products.list_cents[lines.product]
        assert 0.6 < np.median(ratio) < 1.5
        if channel == ONLINE:
            assert not products.is_prescription[lines.product].any()


def test_a_need_leans_baskets_toward_its_categories_and_changes_nothing_else() -> None:
    products = make_products(np.random.default_rng(1), 12, DEFAULT_WORLD)
    sampler = ProductSampler(products, 12)
    n = 20_000
    value = np.full(n, 4_000, dtype=np.int64)
    month = np.random.default_rng(3).integers(0, 12, n)
    coupon = np.zeros(n)
    family = list(NEEDS).index("young family")
    needs = np.where(np.arange(n) < n // 2, family, NO_NEED)

    def baskets(line_share: float):
        leaning = Leaning(needs, line_share, np.random.default_rng(4))
        return draw_baskets(
            np.random.default_rng(5),
            value,
            month,
            STORE,
            coupon,
            products,
            sampler,
            np.arange(n),
            leaning,
        )

    plain, leaning = baskets(0.0), baskets(0.5)
    # The need changes which products, never how many lines nor what the basket is worth.
    assert (plain.counts == leaning.counts).all()
    assert (plain.quantity == leaning.quantity).all()
    assert (
        np.bincount(leaning.basket, leaning.amount_cents)
        == np.bincount(plain.basket, plain.amount_cents)
    ).all()
    in_family = np.isin(products.category[leaning.product], NEEDS["young family"])
    with_need = leaning.basket < n // 2
    share_with, share_without = in_family[with_need].mean(), in_family[~with_need].mean()
    # Half the lines go to the need: 0.5 + 0.5 x the share the family categories have anyway.
    assert share_with == pytest.approx(0.5 + 0.5 * share_without, abs=0.02)
    # Lines of persons without a need are drawn as if needs did not exist.
    assert (leaning.product[~with_need] == plain.product[~with_need]).all()
    assert not products.is_prescription[leaning.product[with_need & in_family]].any()


def test_the_calendar_has_seasons(year2: Path) -> None:
    by_day = duckdb.sql(
        f"""
        select cast(sold_at as date) as day, count(distinct ticket_id) as tickets
        from read_csv('{year2}/pos/tickets/*/*.csv', all_varchar = true)
        where original_ticket_id is null group by all
        """
    ).df()
    by_day["day"] = pd.to_datetime(by_day["day"])
    second_year = by_day[by_day["day"].dt.year == 2025]
    weekday = second_year.groupby(second_year["day"].dt.day_of_week)["tickets"].mean()
    assert weekday[5] > weekday[0:5].mean() > 2 * weekday[6]  # Saturday busy, Sunday quiet
    month = second_year.groupby(second_year["day"].dt.month)["tickets"].mean()
    assert month[12] > month[11] > month[8]
    assert month[8] < 0.85 * month[[6, 9]].mean()


def test_timeline_clock_and_offsets() -> None:
    madrid = ZoneInfo("Europe/Madrid")
    for offset in range(0, 5 * 366):
        day = date(2023, 1, 1) + timedelta(days=offset)
        morning = datetime(day.year, day.month, day.day, 7, tzinfo=madrid)  # earliest hour we use
        expected = "+02:00" if morning.utcoffset() == timedelta(hours=2) else "+01:00"
        assert madrid_offset(day) == expected, day
    assert easter_sunday(2024) == date(2024, 3, 31) and easter_sunday(2025) == date(2025, 4, 20)
    timeline = Timeline.build(date(2024, 1, 1), date(2025, 12, 31))
    assert abs(timeline.weight.mean() - 1) < 1e-12 and timeline.horizon == pytest.approx(731)
    op = np.sort(np.random.default_rng(0).random(10_000) * timeline.horizon)
    day, frac = timeline.locate(op)
    seconds = timeline.clock(day, frac, (9 * 3600, 21 * 3600))
    assert (np.diff(seconds) >= 0).all()
    assert ((seconds % 86_400 >= 9 * 3600) & (seconds % 86_400 < 21 * 3600)).all()
