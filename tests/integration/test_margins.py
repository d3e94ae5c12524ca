"""The value the business keeps, line by line: revenue net of VAT, cost and gross margin in the
marts, against a computation in exact decimals from the delivered catalogue and the lines.

A small generated chain whose catalogue gives a unit cost for every product but the optics
ones; `margins.category_margins` gives optics a margin share instead, and sexual health none at
all (its unit costs are removed too), so every path is taken: cost known, a share, neither.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dbt_runs import duckdb_build, load_landing

from dagster_project.config import settings_from_dict
from dagster_project.defs.transform.dbt_assets import settings_vars
from dagster_project.lib.synthetic import generate

START, END = date(2025, 1, 1), date(2025, 4, 30)
SHARE_CATEGORY, SHARE = "Óptica", 0.45
UNKNOWN_CATEGORY = "Salud sexual"
CENT = Decimal("0.01")


@dataclass(frozen=True)
class Built:
    path: Path
    catalogue: pd.DataFrame  # the latest delivery of each product, as delivered


def _without_unit_costs(landing: Path, categories: set[str]) -> pd.DataFrame:
    """Blank the unit cost of `categories` in every delivered catalogue; the latest delivery of
    each product, as strings."""
    deliveries = []
    for file in sorted((landing / "catalog" / "products").glob("*/products.csv")):
        frame = pd.read_csv(file, dtype=str, keep_default_na=False)
        frame.loc[frame.category.isin(categories), "unit_cost"] = ""
        frame.to_csv(file, index=False)
        deliveries.append(frame.assign(delivered=file.parent.name))
    every = pd.concat(deliveries)
    return every.sort_values("delivered").groupby("sku").last()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    folder = tmp_path_factory.mktemp("margins")
    generate(folder / "landing", customers=300, start=START, end=END, seed=5)
    catalogue = _without_unit_costs(folder / "landing", {SHARE_CATEGORY, UNKNOWN_CATEGORY})
    settings = settings_from_dict(
        {
            "start_date": START.isoformat(),
            "landing_dir": str(folder / "landing"),
            "warehouse": {"path": str(folder / "warehouse.duckdb")},
            "margins": {"category_margins": {SHARE_CATEGORY: SHARE}},
        }
    )
    load_landing(settings, START, END)
    dbt_vars = {**settings_vars(settings), "as_of_date": END.isoformat()}
    # The marts, and the purchase summary the CLV reads (analytics.customer_rfm).
    duckdb_build(
        settings.warehouse_path,
        dbt_vars,
        folder,
        "--select",
        "+fct_transaction_lines",
        "+fct_transactions",
        "+dim_customers",
        "+customer_rfm",
        "--indirect-selection",
        "cautious",  # only the tests of what is built
    )
    yield Built(settings.warehouse_path, catalogue)


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _expected(line: pd.Series, product: pd.Series | None) -> tuple:
    """(net of VAT, cost, margin) of one line, in exact decimals, by docs/analytics.md."""
    amount = Decimal(str(line.line_amount))
    if product is None or product.vat_rate == "":
        return None, None, None
    net = _cents(amount * 100 / (100 + Decimal(product.vat_rate)))
    cost = None
    if product.unit_cost != "" and line.quantity is not None:
        cost = _cents(Decimal(str(line.quantity)) * Decimal(product.unit_cost))
    if cost is not None:
        margin = net - cost
    elif product.category == SHARE_CATEGORY:
        margin = _cents(net * Decimal(str(SHARE)))
    else:
        margin = None
    return net, cost, margin


def test_every_lines_net_of_vat_cost_and_margin_equal_the_decimal_computation(built: Built):
    with duckdb.connect(str(built.path), read_only=True) as con:
        lines = con.execute(
            "select line_id, sku, category, quantity, line_amount, net_of_vat_amount, "
            "cost_amount, margin_amount from marts.fct_transaction_lines"
        ).df()
    paths = {"cost": 0, "share": 0, "none": 0}
    for line in lines.itertuples():
        product = built.catalogue.loc[line.sku] if line.sku in built.catalogue.index else None
        net, cost, margin = _expected(line, product)
        got = tuple(
            None if pd.isna(v) else Decimal(str(v))
            for v in (line.net_of_vat_amount, line.cost_amount, line.margin_amount)
        )
        assert got == (net, cost, margin), line
        paths["cost" if cost is not None else "share" if margin is not None else "none"] += 1
    assert all(n > 20 for n in paths.values()), paths


def test_a_transactions_margin_is_its_lines_and_unknown_when_one_line_is(built: Built):
    with duckdb.connect(str(built.path), read_only=True) as con:
        lines = con.execute(
            "select transaction_id, net_of_vat_amount, margin_amount "
            "from marts.fct_transaction_lines"
        ).df()
        transactions = (
            con.execute(
                "select transaction_id, net_of_vat_amount, margin_amount from marts.fct_transactions"
            )
            .df()
            .set_index("transaction_id")
        )
    per = lines.groupby("transaction_id").agg(
        net=("net_of_vat_amount", lambda v: v.sum() if v.notna().all() else None),
        margin=("margin_amount", lambda v: v.sum() if v.notna().all() else None),
    )
    joined = per.join(transactions)
    for column, ours in (("net", "net_of_vat_amount"), ("margin", "margin_amount")):
        want = joined[column].astype(float).round(2)
        got = joined[ours].astype(float).round(2)
        assert ((want == got) | (want.isna() & got.isna())).all(), column
    assert joined.margin_amount.isna().any() and joined.margin_amount.notna().sum() > 100


def _known_sum(values: pd.Series) -> float | None:
    """The sum, or None when any value is unknown (a margin is known only when all are)."""
    return float(values.sum()) if values.notna().all() else None


def test_the_purchase_summary_on_margin_is_the_purchases_own(built: Built):
    # Per customer, from the purchases the summary reads: margin per purchase day (unknown when
    # one purchase of the day is), the total, and the mean of the repeat days as lifetimes
    # defines monetary_value.
    with duckdb.connect(str(built.path), read_only=True) as con:
        purchases = con.execute(
            "select customer_key, order_date, cast(margin_amount as double) as margin "
            "from analytics.customer_purchases where as_of_date = ?",
            [END],
        ).df()
        rfm = (
            con.execute(
                "select customer_key, cast(monetary_margin_value as double) as monetary, "
                "cast(total_margin_amount as double) as total from analytics.customer_rfm "
                "where as_of_date = ?",
                [END],
            )
            .df()
            .set_index("customer_key")
        )
    days = purchases.groupby(["customer_key", "order_date"])["margin"].agg(_known_sum)
    checked = 0
    for customer, margins in days.groupby(level="customer_key"):
        total = _known_sum(margins)
        repeat = margins.iloc[1:]
        monetary = None if total is None else (float(repeat.mean()) if len(repeat) else 0.0)
        row = rfm.loc[customer]
        if total is None:
            assert pd.isna(row.total) and pd.isna(row.monetary), customer
            continue
        assert row.total == pytest.approx(total, abs=0.005), customer
        assert row.monetary == pytest.approx(monetary, abs=0.005), customer
        checked += 1
    assert len(days.index.unique("customer_key")) == len(rfm)
    assert checked > 50 and rfm.total.isna().sum() > 10  # both paths taken


def test_clv_on_margin_is_fitted_and_kept_for_customers_whose_margins_are_known(
    built: Built, tmp_path: Path
):
    import shutil

    from dagster_project.lib.clv import ClvParameters
    from dagster_project.lib.clv.on_duckdb import clv_on_duckdb
    from dagster_project.lib.warehouse import ensure_warehouse_tables

    copy = tmp_path / "clv.duckdb"
    shutil.copy(built.path, copy)
    with duckdb.connect(str(copy)) as con:
        ensure_warehouse_tables(con)
        run = clv_on_duckdb(con, ClvParameters(min_spend_buyers=10), END, None)
        scores = con.execute(
            "select c.predicted_margin_clv, c.predicted_clv, c.margin_method, "
            "r.total_margin_amount from analytics.customer_clv c "
            "join analytics.customer_rfm r using (as_of_date, customer_key) where as_of_date = ?",
            [END],
        ).df()
        fits = dict(
            con.execute(
                "select model, status from analytics.clv_model_runs where stage = 'final'"
            ).fetchall()
        )
    assert fits["gamma_gamma_margin"] == "ok", run.runs
    assert (scores.margin_method == "model").all()
    known = scores.total_margin_amount.notna()
    assert scores.predicted_margin_clv[known].notna().all()
    assert scores.predicted_margin_clv[~known].isna().all()
    # Margin is a part of revenue: on the whole, the margin CLV is a fraction of the revenue CLV.
    ratio = scores.predicted_margin_clv[known].sum() / scores.predicted_clv[known].sum()
    assert 0.05 < ratio < 0.9
