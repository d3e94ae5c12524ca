"""Real public data through the generic source, with the configs docs/examples/ shows: UCI Online
Retail (real mess: cancellations, missing customer ids, float ids) and a grocery event log with no
amounts at all."""

from __future__ import annotations

import os
import subprocess
import sys
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=7)

REPO = Path(__file__).resolve().parents[2]
LOYALTY = str(Path(sys.executable).parent / "loyalty")


def run_example(name: str, datasets: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Run docs/examples/<name>.yml with its landing folder pointing at the shared datasets."""
    config = tmp_path / f"{name}.yml"
    text = (REPO / "docs" / "examples" / f"{name}.yml").read_text(encoding="utf-8")
    config.write_text(text.replace("landing_dir: .", f"landing_dir: {datasets}"), encoding="utf-8")
    run = subprocess.run(
        [LOYALTY, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    return duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)


@pytest.fixture(scope="module")
def online_retail(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory):
    return run_example("online_retail", shared_datasets, tmp_path_factory.mktemp("online_retail"))


def test_online_retail_runs_through_every_step(online_retail: duckdb.DuckDBPyConnection):
    con = online_retail
    customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    assert customers == 4372  # the dataset's distinct CustomerIDs (float ids read as integers)
    as_of = con.execute("select max(as_of_date)::varchar from analytics.customer_rfm").fetchone()[0]
    assert as_of == "2011-12-09"
    fits = dict(
        con.execute(
            "select model, status from analytics.clv_model_runs where stage = 'final'"
        ).fetchall()
    )
    # The dataset has no costs, so the margin fit has nothing to fit.
    assert fits == {"bgnbd": "ok", "gamma_gamma": "ok", "gamma_gamma_margin": "no_spend_data"}
    segments = con.execute(
        "select count(distinct rfm_segment) from analytics.customer_rfm"
    ).fetchone()[0]
    assert segments >= 8
    stages = {
        s
        for (s,) in con.execute(
            "select distinct lifecycle_stage from analytics.customer_lifecycle"
        ).fetchall()
    }
    assert {"active", "lost", "new"} <= stages


def invoice_totals(lines: pd.DataFrame) -> pd.Series:
    """Each invoice's value, quantity x unit price summed exactly, then to the cent (half up)."""
    amounts = [
        Decimal(q) * Decimal(p) for q, p in zip(lines.Quantity, lines.UnitPrice, strict=True)
    ]
    exact = pd.Series(amounts, index=lines.index).groupby(lines.InvoiceNo).sum()
    return exact.map(lambda v: v.quantize(Decimal("0.01"), ROUND_HALF_UP))


def test_online_retail_net_revenue_reconciles_to_pandas_on_the_raw_file_to_the_cent(
    online_retail: duckdb.DuckDBPyConnection, shared_datasets: Path
):
    raw = pd.read_csv(
        shared_datasets / "online_retail" / "online_retail.csv.gz",
        dtype=str,
        keep_default_na=False,
        encoding="latin-1",
    )
    con = online_retail
    # Every line loaded (cancellations, missing ids, zero and negative prices are all real sales
    # data), none quarantined: the file's 541,909 lines are all accounted for.
    read, loaded, quarantined = con.execute(
        "select sum(rows_read), sum(rows_loaded), sum(rows_quarantined) from ops.ingest_log"
    ).fetchone()
    assert (read, loaded, quarantined) == (len(raw), len(raw), 0)
    invoices = invoice_totals(raw)
    total, orders = con.execute(
        "select sum(net_amount), count(*) from marts.fct_transactions"
    ).fetchone()
    assert (Decimal(total), orders) == (sum(invoices), len(invoices))
    # Cancellations (invoices C…) net out: they are negative invoices in the same total.
    cancelled = invoices[invoices.index.str.startswith("C")]
    assert (cancelled < 0).all() and len(cancelled) > 3000
    # Lines without a customer count in revenue, under no customer.
    anonymous = invoice_totals(raw[raw.CustomerID == ""])
    (anonymous_total,) = con.execute(
        "select sum(net_amount) from marts.fct_transactions where customer_key is null"
    ).fetchone()
    assert Decimal(anonymous_total) == sum(anonymous)
    # …and not in customer analytics: those are the customers with an invoice of positive value.
    known = raw[raw.CustomerID != ""]
    by_invoice = invoice_totals(known)
    buyers = known.groupby("InvoiceNo").CustomerID.first()[by_invoice > 0].nunique()
    (analysed,) = con.execute(
        "select count(*) from analytics.customer_rfm where as_of_date = '2011-12-09'"
    ).fetchone()
    assert analysed == buyers


def test_an_event_log_without_amounts_gets_a_clv_without_a_spend_model(
    shared_datasets: Path, tmp_path: Path
):
    con = run_example("grocery", shared_datasets, tmp_path)
    fits = dict(
        con.execute(
            "select model, status from analytics.clv_model_runs where stage = 'final'"
        ).fetchall()
    )
    assert fits["bgnbd"] == "ok"
    assert fits["gamma_gamma"] == fits["gamma_gamma_margin"] == "no_spend_data"
    people, valued = con.execute(
        "select count(*), count(predicted_clv) from analytics.customer_clv"
    ).fetchone()
    assert people == 1525 and valued == 0
    assert con.execute(
        "select count(*) from analytics.customer_rfm where rfm_segment is null"
    ).fetchone() == (0,)
