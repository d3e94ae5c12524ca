"""The KPI, cohort, segment-history and profile models against independent pandas computations.

A small generated pharmacy chain (15 months, 300 persons) is loaded into a temporary warehouse by
the ingest loaders of `lib/sources`, and dbt builds the marts and the analytics as of two
month-ends. The CLV of the last one is a known function of each customer's purchase summary
(the model fit has tests of its own), so its averages can be recomputed. Every expected number is
computed here from `marts.*` with pandas, by the definitions in docs/analytics.md, never by
reading the model under test.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from dbt_runs import duckdb_build, load_landing, write_fake_clv

from dagster_project.config import Settings, settings_from_dict
from dagster_project.defs.transform.dbt_assets import READS_CLV, settings_vars
from dagster_project.lib.synthetic import generate

START, END = date(2024, 1, 1), date(2025, 3, 31)
EARLIER = date(2025, 2, 14)  # mid-month: its month is still in progress
LOST_DAYS = 365
PROFILE_MIN_GROUP_SIZE = 10
NEW_TABLES = (
    "customer_segment_history",
    "kpi_daily",
    "kpi_clv_by_group",
    "cohort_retention",
    "segment_profiles",
)


@dataclass(frozen=True)
class Warehouse:
    path: Path
    settings: Settings
    work_dir: Path

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)

    def dbt(self, as_of: date, *selection: str, **extra_vars: object) -> None:
        dbt_vars = {**settings_vars(self.settings), "as_of_date": as_of.isoformat(), **extra_vars}
        duckdb_build(self.path, dbt_vars, self.work_dir, *selection)

    def analytics(self, as_of: date, *, with_clv: bool) -> None:
        """The analytics of a day as the Dagster assets run them: before the CLV, CLV, after."""
        self.dbt(as_of, "--select", "tag:analytics", "--exclude", READS_CLV)
        if with_clv:
            write_fake_clv(self.path, as_of)
        self.dbt(as_of, "--select", f"{READS_CLV},tag:analytics")


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Warehouse]:
    folder = tmp_path_factory.mktemp("analytics_kpis")
    generate(folder / "landing", customers=300, start=START, end=END, seed=23)
    settings = settings_from_dict(
        {
            "start_date": START.isoformat(),
            "landing_dir": str(folder / "landing"),
            "warehouse": {"path": str(folder / "warehouse.duckdb")},
        }
    )
    load_landing(settings, START, END)
    built = Warehouse(settings.warehouse_path, settings, folder)
    built.dbt(EARLIER)  # marts, and every analytics model as of EARLIER (no CLV that day)
    built.analytics(END, with_clv=True)
    yield built


# --- independent computations on the marts ----------------------------------------------------


def marts_lines(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    lines = con.execute(
        "select transaction_id, customer_key, order_date, event_date, category, is_prescription, "
        "cast(line_amount as double) as line_amount, "
        "cast(discount_amount as double) as discount_amount, coupon_code "
        "from marts.fct_transaction_lines"
    ).df()
    for column in ("order_date", "event_date"):
        lines[column] = pd.to_datetime(lines[column])
    lines["is_prescription"] = lines.is_prescription.fillna(False).astype(bool)
    return lines


def purchases_as_of(lines: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Orders of known customers by the day, non-prescription value net of returns by then, > 0."""
    day = pd.Timestamp(as_of)
    seen = lines[
        lines.customer_key.notna() & (lines.order_date <= day) & (lines.event_date <= day)
    ].copy()
    seen["purchase_amount"] = seen.line_amount.where(~seen.is_prescription, 0.0)
    orders = seen.groupby(["customer_key", "transaction_id", "order_date"], as_index=False)[
        ["purchase_amount", "line_amount"]
    ].sum()
    return orders[orders.purchase_amount.round(2) > 0]


def days_before(as_of: date, when: pd.Series) -> pd.Series:
    return (pd.Timestamp(as_of) - when).dt.days


def expected_kpis(lines: pd.DataFrame, as_of: date) -> dict[str, float | int]:
    purchases = purchases_as_of(lines, as_of)
    per_customer = purchases.groupby("customer_key").agg(
        first=("order_date", "min"),
        last=("order_date", "max"),
        days=("order_date", "nunique"),
        total=("purchase_amount", "sum"),
    )
    since_last = days_before(as_of, per_customer["last"])
    since_first = days_before(as_of, per_customer["first"])
    age = days_before(as_of, purchases.order_date)
    active_365 = int((since_last < 365).sum())
    last_30 = purchases[age < 30]

    # Churn: a purchase within LOST_DAYS before D - 30, and none within LOST_DAYS before D.
    month_ago = pd.Timestamp(as_of) - pd.Timedelta(days=30)
    last_then = (
        purchases[purchases.order_date <= month_ago].groupby("customer_key").order_date.max()
    )
    not_lost_then = last_then[(month_ago - last_then).dt.days <= LOST_DAYS].index
    churned = int((since_last.loc[not_lost_then] > LOST_DAYS).sum())

    totals = per_customer.total.sort_values(ascending=False)
    top = math.ceil(0.2 * len(totals))

    window = lines[
        (lines.event_date <= pd.Timestamp(as_of)) & (days_before(as_of, lines.event_date) < 30)
    ]
    return {
        "customers": len(per_customer),
        "active_customers_30d": int((since_last < 30).sum()),
        "active_customers_90d": int((since_last < 90).sum()),
        "active_customers_365d": active_365,
        "new_customers": int((since_first == 0).sum()),
        "new_customers_30d": int((since_first < 30).sum()),
        "repeat_purchase_rate": float((per_customer.days >= 2).mean()),
        "purchase_frequency_365d": int((age < 365).sum()) / active_365,
        "orders_30d": len(last_30),
        "average_order_value_30d_amount": round(float(last_30.purchase_amount.mean()), 2),
        "net_revenue_amount": round(
            float(window[window.event_date == pd.Timestamp(as_of)].line_amount.sum()), 2
        ),
        "net_revenue_30d_amount": round(float(window.line_amount.sum()), 2),
        "top_revenue_share": float(totals.iloc[:top].sum() / totals.sum()),
        "not_lost_customers_30_days_ago": len(not_lost_then),
        "churned_customers_30d": churned,
        "churn_rate_30d": churned / len(not_lost_then),
    }


def to_cent(values: pd.Series) -> pd.Series:
    """Round half away from zero, as SQL's round (pandas rounds half to even)."""
    return np.sign(values) * np.floor(values.abs() * 100 + 0.5) / 100


def table(con: duckdb.DuckDBPyConnection, sql: str, *params: object) -> pd.DataFrame:
    return con.execute(sql, list(params)).df()


# --- tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("as_of", [EARLIER, END])
def test_daily_kpis_equal_pandas_on_the_marts(warehouse: Warehouse, as_of: date):
    with warehouse.connect() as con:
        kpis = table(con, "select * from analytics.kpi_daily where as_of_date = ?", as_of)
        lines = marts_lines(con)
        lifecycle = table(
            con,
            "select lifecycle_stage, count(*) as n from analytics.customer_lifecycle "
            "where as_of_date = ? group by 1",
            as_of,
        ).set_index("lifecycle_stage")["n"]
    assert len(kpis) == 1
    ours = kpis.iloc[0]
    expected = expected_kpis(lines, as_of)
    # The data are rich enough for every KPI to say something.
    assert expected["churned_customers_30d"] > 0 and expected["new_customers_30d"] > 0
    for name, value in expected.items():
        if isinstance(value, int):
            assert int(ours[name]) == value, name
        else:
            assert float(ours[name]) == pytest.approx(value, abs=1e-9), name
    assert int(ours["lost_customers"]) == int(lifecycle.get("lost", 0))
    assert int(ours["reactivated_customers"]) == int(lifecycle.get("reactivated", 0))


def expected_deal_sensitivity(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """docs/analytics.md: an order has a deal when a non-prescription line seen by the day has a
    discount or a coupon; shares of the purchases (purchases_as_of) with one; the profile by the
    default thresholds (3 orders, 0.5, 0.2)."""
    lines = marts_lines(con)
    day = pd.Timestamp(as_of)
    seen = lines[lines.customer_key.notna() & (lines.order_date <= day) & (lines.event_date <= day)]
    deal_line = ~seen.is_prescription & (
        (seen.discount_amount.fillna(0) > 0) | seen.coupon_code.notna()
    )
    with_deal = set(seen.loc[deal_line, "transaction_id"])
    purchases = purchases_as_of(lines, as_of)
    purchases["has_deal"] = purchases.transaction_id.isin(with_deal)
    purchases["deal_amount"] = purchases.purchase_amount.where(purchases.has_deal, 0.0)
    per = purchases.groupby("customer_key").agg(
        orders_count=("transaction_id", "size"),
        deal_orders_count=("has_deal", "sum"),
        spend=("purchase_amount", "sum"),
        deal_spend=("deal_amount", "sum"),
    )
    per["deal_order_share"] = per.deal_orders_count / per.orders_count
    per["deal_spend_share"] = per.deal_spend / per.spend
    per["deal_profile"] = np.select(
        [per.orders_count < 3, per.deal_order_share >= 0.5, per.deal_order_share < 0.2],
        [None, "opportunistic", "loyal"],
        "mixed",
    )
    return per


def test_deal_sensitivity_equals_pandas_on_the_marts(warehouse: Warehouse):
    with warehouse.connect() as con:
        ours = table(
            con, "select * from analytics.customer_deal_sensitivity where as_of_date = ?", END
        ).set_index("customer_key")
        expected = expected_deal_sensitivity(con, END)
    assert set(ours.index) == set(expected.index)
    ours = ours.loc[expected.index]
    assert (ours.orders_count.astype(int) == expected.orders_count).all()
    assert (ours.deal_orders_count.astype(int) == expected.deal_orders_count).all()
    assert np.allclose(ours.deal_order_share.astype(float), expected.deal_order_share)
    assert np.allclose(ours.deal_spend_share.astype(float), expected.deal_spend_share, atol=1e-6)
    assert list(ours.deal_profile.fillna("none")) == list(
        pd.Series(expected.deal_profile).fillna("none")
    )
    # The generated chain has coupons: every profile occurs.
    assert {"opportunistic", "mixed", "loyal"} <= set(ours.deal_profile.dropna())


def test_clv_kpis_average_each_customers_clv_to_the_cent(warehouse: Warehouse):
    with warehouse.connect() as con:
        scored = table(
            con,
            "select rfm.value_tier, rfm.rfm_segment, clv.predicted_clv "
            "from analytics.customer_rfm as rfm inner join analytics.customer_clv as clv "
            "using (as_of_date, customer_key) where as_of_date = ?",
            END,
        )
        daily = table(con, "select * from analytics.kpi_daily order by as_of_date")
        groups = table(
            con,
            "select * from analytics.kpi_clv_by_group where as_of_date = ?",
            END,
        ).set_index(["group_type", "group_name"])
    scored["clv"] = to_cent(scored.predicted_clv)
    by_date = daily.set_index(daily.as_of_date.dt.date)
    # An average is rounded to the nearest cent (a tie may go either way in floating point).
    assert float(by_date.loc[END, "average_predicted_clv_amount"]) == pytest.approx(
        scored.clv.mean(), abs=0.005 + 1e-9
    )
    assert pd.isna(by_date.loc[EARLIER, "average_predicted_clv_amount"])  # no CLV that day
    for group_type in ("value_tier", "rfm_segment"):
        expected = scored.groupby(group_type).clv.agg(["count", "mean", "sum"])
        ours = groups.loc[group_type].sort_index()
        assert list(ours.index) == list(expected.index)
        assert list(ours.customers) == list(expected["count"])
        for name in expected.index:
            assert float(ours.loc[name, "average_predicted_clv_amount"]) == pytest.approx(
                expected.loc[name, "mean"], abs=0.005 + 1e-9
            )
            assert float(ours.loc[name, "total_predicted_clv_amount"]) == pytest.approx(
                expected.loc[name, "sum"], abs=1e-6
            )


@pytest.mark.parametrize("as_of", [EARLIER, END])
def test_cohort_retention_equals_pandas(warehouse: Warehouse, as_of: date):
    with warehouse.connect() as con:
        ours = table(
            con,
            "select * from analytics.cohort_retention where as_of_date = ? "
            "order by cohort_month, months_since_first_purchase",
            as_of,
        )
        purchases = purchases_as_of(marts_lines(con), as_of)
    purchases["month"] = purchases.order_date.dt.to_period("M")
    purchases["cohort"] = purchases.groupby("customer_key").month.transform("min")
    sizes = purchases.groupby("cohort").customer_key.nunique()
    activity = purchases.groupby(["cohort", "month"]).agg(
        retained=("customer_key", "nunique"),
        orders=("transaction_id", "count"),
        amount=("purchase_amount", "sum"),
    )
    last_month = pd.Period(as_of, "M")
    expected = []
    for cohort, size in sizes.items():
        for k in range((last_month - cohort).n + 1):
            month = cohort + k
            row = activity.loc[(cohort, month)] if (cohort, month) in activity.index else None
            retained = int(row.retained) if row is not None else 0
            expected.append(
                (
                    cohort.to_timestamp().date(),
                    k,
                    int(size),
                    retained,
                    retained / size,
                    int(row.orders) if row is not None else 0,
                    round(float(row.amount), 2) if row is not None else 0.0,
                )
            )
    got = [
        (
            r.cohort_month.date(),
            int(r.months_since_first_purchase),
            int(r.cohort_customers),
            int(r.retained_customers),
            r.retention_rate,
            int(r.orders_count),
            round(float(r.purchase_amount), 2),
        )
        for r in ours.itertuples()
    ]
    assert len(got) == len(expected) == sum((last_month - c).n + 1 for c in sizes.index)
    for mine, theirs in zip(got, expected, strict=True):
        assert mine[:4] == theirs[:4] and mine[5:] == theirs[5:]
        assert mine[4] == pytest.approx(theirs[4], abs=1e-12)
    # Only the month of the day can be in progress: on its last day it is complete.
    in_progress = ours[~ours.is_complete_month].activity_month.dt.to_period("M")
    is_month_end = (pd.Timestamp(as_of) + pd.Timedelta(days=1)).day == 1
    assert set(in_progress) == (set() if is_month_end else {last_month})


def test_transitions_count_the_moves_between_consecutive_as_of_dates(warehouse: Warehouse):
    with warehouse.connect() as con:
        history = table(
            con,
            "select * from analytics.customer_segment_history where as_of_date in (?, ?)",
            EARLIER,
            END,
        )
        transitions = table(con, "select * from analytics.segment_transitions")
    assert set(transitions.as_of_date.dt.date) == {END}
    assert set(transitions.previous_as_of_date.dt.date) == {EARLIER}
    history["day"] = history.as_of_date.dt.date
    for dimension in ("rfm_segment", "value_tier", "lifecycle_stage"):
        before = history[history.day == EARLIER].set_index("customer_key")[dimension].dropna()
        after = history[history.day == END].set_index("customer_key")[dimension].dropna()
        moves = pd.concat([before.rename("from"), after.rename("to")], axis=1)
        expected = moves.fillna("∅").value_counts().to_dict()
        ours = transitions[transitions.dimension == dimension].fillna("∅")
        assert (
            dict(zip(zip(ours.from_value, ours.to_value, strict=True), ours.customers, strict=True))
            == expected
        )
    # Customers whose first purchase came between the two days come from no segment.
    assert (transitions[transitions.dimension == "rfm_segment"].from_value.isna()).any()


def test_segment_profiles_show_only_groups_large_enough(warehouse: Warehouse):
    with warehouse.connect() as con:
        history = table(
            con, "select * from analytics.customer_segment_history where as_of_date = ?", END
        )
        profiles = table(
            con, "select * from analytics.segment_profiles where as_of_date = ?", END
        ).set_index(["group_type", "group_name"])
        customers = table(con, "select customer_key, birth_year from marts.dim_customers")
        lines = marts_lines(con)
        # Checked against pandas by test_deal_sensitivity_equals_pandas_on_the_marts.
        remaining_days = (
            table(
                con,
                "select customer_key, expected_remaining_days from analytics.customer_clv "
                "where as_of_date = ?",
                END,
            )
            .set_index("customer_key")
            .expected_remaining_days
        )
        deal_profiles = (
            table(
                con,
                "select customer_key, deal_profile from analytics.customer_deal_sensitivity "
                "where as_of_date = ?",
                END,
            )
            .set_index("customer_key")
            .deal_profile
        )
    sizes = {
        (group_type, name): n
        for group_type in ("rfm_segment", "value_tier", "lifecycle_stage")
        for name, n in history[group_type].value_counts().items()
    }
    shown = {key for key, n in sizes.items() if n >= PROFILE_MIN_GROUP_SIZE}
    assert set(profiles.index) == shown
    for key in shown:
        assert profiles.loc[key, "customers"] == sizes[key]

    # Every shown group's age bands recomputed, with the cells that describe too few hidden.
    ages = customers.assign(age=END.year - customers.birth_year)
    ages["band"] = pd.cut(
        ages.age,
        [-1, 24, 34, 44, 54, 64, 120],
        labels=["under_25", "25_34", "35_44", "45_54", "55_64", "65_plus"],
    )
    ages["band"] = ages.band.astype(object).where(ages.band.notna(), "unknown")
    hidden_somewhere = 0
    for group_type, name in shown:
        members = history[history[group_type] == name].merge(ages, on="customer_key")
        counts = members.band.value_counts().reindex(AGE_BANDS, fill_value=0)
        expected = expected_shares(counts, len(members))
        ours = profiles.loc[(group_type, name)]
        for band in AGE_BANDS:
            share = ours[f"age_{band}_share"]
            if expected[band] is None:
                assert pd.isna(share), (group_type, name, band)
                hidden_somewhere += 1
            else:
                assert share == pytest.approx(expected[band], abs=1e-12), (group_type, name, band)
    assert hidden_somewhere > 0  # the data has small cells: the rule is exercised

    # Where each RFM segment is in its life cycle: its stage mix, hidden by the same rule, and
    # its buyers' tenure so far (first to last purchase).
    purchases = purchases_as_of(lines, END)
    per_buyer = purchases.groupby("customer_key").order_date.agg(["min", "max"])
    tenure = (per_buyer["max"] - per_buyer["min"]).dt.days
    for name in history.rfm_segment.dropna().unique():
        if ("rfm_segment", name) not in shown:
            continue
        members = history[history.rfm_segment == name]
        counts = members.lifecycle_stage.value_counts().reindex(STAGES, fill_value=0)
        expected = expected_shares(counts, len(members))
        ours = profiles.loc[("rfm_segment", name)]
        for stage in STAGES:
            share = ours[f"stage_{stage}_share"]
            if expected[stage] is None:
                assert pd.isna(share), (name, stage)
            else:
                assert share == pytest.approx(expected[stage], abs=1e-12), (name, stage)
        assert float(ours["average_tenure_days"]) == pytest.approx(
            tenure[tenure.index.isin(members.customer_key)].mean(), abs=1e-9
        )
        # How long its customers are expected to stay, from the day's CLV of each.
        staying = members.customer_key.map(remaining_days).dropna()
        assert float(ours["average_expected_remaining_days"]) == pytest.approx(
            staying.mean(), rel=1e-12
        )
        # Its buyers' deal profiles, over its buyers (unclassified: too few orders).
        buyers = members[members.customer_key.isin(per_buyer.index)]
        profile = buyers.customer_key.map(deal_profiles).fillna("unclassified")
        counts = profile.value_counts().reindex(DEAL_PROFILES, fill_value=0)
        expected = expected_shares(counts, len(buyers))
        for cell in DEAL_PROFILES:
            share = ours[f"deal_{cell}_share"]
            if expected[cell] is None:
                assert pd.isna(share), (name, cell)
            else:
                assert share == pytest.approx(expected[cell], abs=1e-12), (name, cell)

    # The gold tier's typical basket and top category (one that enough of them bought).
    gold = history[history.value_tier == "gold"]
    ours = profiles.loc[("value_tier", "gold")]
    purchases = purchases_as_of(lines, END)
    gold_orders = purchases[purchases.customer_key.isin(gold.customer_key)]
    assert gold_orders.customer_key.nunique() >= PROFILE_MIN_GROUP_SIZE
    assert float(ours["median_order_value_amount"]) == pytest.approx(
        gold_orders.purchase_amount.median(), abs=0.005
    )
    bought = lines[
        lines.transaction_id.isin(gold_orders.transaction_id)
        & ~lines.is_prescription
        & (lines.event_date <= pd.Timestamp(END))
    ]
    spend = bought.groupby("category").line_amount.sum()
    buyers = bought.groupby("category").customer_key.nunique()
    eligible = spend[buyers >= PROFILE_MIN_GROUP_SIZE].sort_values(ascending=False)
    assert ours["top_category_1"] == eligible.index[0]
    assert ours["top_category_1_spend_share"] == pytest.approx(
        eligible.iloc[0] / spend.sum(), abs=1e-9
    )


AGE_BANDS = ["under_25", "25_34", "35_44", "45_54", "55_64", "65_plus", "unknown"]
STAGES = ["prospect", "new", "active", "reactivated", "at_risk", "lapsed", "lost"]
DEAL_PROFILES = ["opportunistic", "mixed", "loyal", "unclassified"]


def expected_shares(counts: pd.Series, size: int) -> dict[str, float | None]:
    """Each cell's share, None when it counts 1 to min - 1 people; when any is hidden, the
    smallest cell of at least min people (the first of equals) is hidden too."""
    too_few = (counts >= 1) & (counts < PROFILE_MIN_GROUP_SIZE)
    hidden = set(counts.index[too_few])
    large = counts[counts >= PROFILE_MIN_GROUP_SIZE]
    if counts[too_few].sum() > 0 and len(large):
        hidden.add(large.idxmin())
    return {cell: None if cell in hidden else n / size for cell, n in counts.items()}


def test_computing_days_again_leaves_the_same_rows(warehouse: Warehouse):
    def snapshot() -> dict[str, list[tuple]]:
        with warehouse.connect() as con:
            return {
                name: con.execute(f"select * from analytics.{name} order by all").fetchall()
                for name in (*NEW_TABLES, "segment_transitions")
            }

    before = snapshot()
    warehouse.analytics(EARLIER, with_clv=False)
    warehouse.analytics(END, with_clv=True)
    assert snapshot() == before


def test_a_larger_minimum_group_size_hides_the_smaller_groups(warehouse: Warehouse):
    with warehouse.connect() as con:
        sizes = table(
            con,
            "select group_type, group_name, customers from analytics.segment_profiles "
            "where as_of_date = ?",
            END,
        )
    minimum = int(sizes.customers.median())
    try:
        warehouse.dbt(END, "--select", "segment_profiles", profile_min_group_size=minimum)
        with warehouse.connect() as con:
            shown = table(
                con,
                "select group_type, group_name, min_group_size from analytics.segment_profiles "
                "where as_of_date = ?",
                END,
            )
    finally:
        warehouse.dbt(END, "--select", "segment_profiles")
    expected = sizes[sizes.customers >= minimum]
    assert 0 < len(shown) < len(sizes)
    assert set(shown.min_group_size) == {minimum}
    assert set(zip(shown.group_type, shown.group_name, strict=True)) == set(
        zip(expected.group_type, expected.group_name, strict=True)
    )
