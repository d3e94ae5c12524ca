"""Data for the CLV tests: the CDNOW sample shipped with lifetimes, a generated landing folder
turned into per-person transactions, and the grocery event log (no amounts)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import lifetimes
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from dagster_project.lib.synthetic import generate

CDNOW_FILE = Path(lifetimes.__file__).parent / "datasets" / "CDNOW_sample.txt"
CDNOW_CALIBRATION_END = date(1997, 9, 30)
CDNOW_END = date(1998, 6, 30)

SYNTHETIC_START, SYNTHETIC_END = date(2023, 1, 1), date(2024, 12, 31)
SYNTHETIC_SEED = 11


@dataclass(frozen=True)
class Cdnow:
    transactions: pd.DataFrame  # customer_key, date, amount: every purchase, 1997-01 to 1998-06
    calibration_summary: pd.DataFrame  # built by lifetimes itself, weeks = days / 7
    calibration_end: date = CDNOW_CALIBRATION_END
    end: date = CDNOW_END


@pytest.fixture(scope="session")
def cdnow() -> Cdnow:
    """The CDNOW sample (2,357 customers) and the published papers' calibration summary."""
    raw = pd.read_csv(
        CDNOW_FILE,
        sep=r"\s+",
        header=None,
        names=["master_id", "sample_id", "yyyymmdd", "cds", "dollars"],
        dtype={"yyyymmdd": str},
    )
    transactions = pd.DataFrame(
        {
            "customer_key": raw["master_id"],
            "date": pd.to_datetime(raw["yyyymmdd"], format="%Y%m%d"),
            "amount": raw["dollars"],
        }
    )
    days = transactions.groupby(["customer_key", "date"], as_index=False)["amount"].sum()
    summary = summary_data_from_transaction_data(
        days,
        "customer_key",
        "date",
        "amount",
        observation_period_end=CDNOW_CALIBRATION_END.isoformat(),
        freq="D",
        freq_multiplier=7,
    )
    return Cdnow(transactions, summary.reset_index())


@dataclass(frozen=True)
class Synthetic:
    truth: pd.DataFrame  # _truth/customers.parquet
    parameters: dict  # _truth/parameters.json
    transactions: pd.DataFrame  # customer_key (= person_id), date, amount


def _person_transactions(root: Path, truth: pd.DataFrame) -> pd.DataFrame:
    """Every purchase of every person, from the landing files: card holders' POS tickets (lines
    summed, return tickets left out, anonymous tickets dropped) and account holders' Shopify
    orders (first version of each order; cancelled ones included, as the generator's process
    counts them). Identity comes from the truth's card and account numbers."""
    con = duckdb.connect()
    tickets = con.sql(
        f"""
        select card_id, ticket_id, min(sold_at)::date as date, sum(line_amount) as amount
        from read_csv('{root}/pos/tickets/date=*/*.csv',
                      types={{'card_id': 'VARCHAR', 'original_ticket_id': 'VARCHAR',
                              'sold_at': 'TIMESTAMP'}})
        where card_id is not null
        group by card_id, ticket_id
        having bool_and(original_ticket_id is null)
        """
    ).df()
    orders = con.sql(
        f"""
        select distinct on (id) customer.id as shopify_customer_id,
               substr(created_at, 1, 10)::date as date, subtotal_price::double as amount
        from read_json('{root}/ecommerce/orders/date=*/*.jsonl', format='newline_delimited',
                       columns={{'id': 'BIGINT', 'customer': 'STRUCT(id BIGINT)',
                                 'created_at': 'VARCHAR', 'updated_at': 'VARCHAR',
                                 'subtotal_price': 'VARCHAR'}})
        where customer.id is not null
        order by id, updated_at
        """
    ).df()
    cards = truth[["person_id", "card_id"]].dropna()
    accounts = truth[["person_id", "shopify_customer_id"]].dropna()
    frames = [
        tickets.merge(cards, on="card_id")[["person_id", "date", "amount"]],
        orders.merge(accounts, on="shopify_customer_id")[["person_id", "date", "amount"]],
    ]
    return pd.concat(frames, ignore_index=True).rename(columns={"person_id": "customer_key"})


@pytest.fixture(scope="session")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Synthetic:
    root = tmp_path_factory.mktemp("clv_synthetic")
    generate(root, customers=20_000, start=SYNTHETIC_START, end=SYNTHETIC_END, seed=SYNTHETIC_SEED)
    truth = pd.read_parquet(root / "_truth" / "customers.parquet")
    parameters = json.loads((root / "_truth" / "parameters.json").read_text())
    return Synthetic(truth, parameters, _person_transactions(root, truth))


@pytest.fixture(scope="session")
def grocery_transactions(shared_datasets: Path) -> pd.DataFrame:
    """The grocery event log: customer and date only, no amounts."""
    log = pd.read_csv(shared_datasets / "grocery" / "groceryElog.csv.gz")
    return pd.DataFrame({"customer_key": log["cust"], "date": pd.to_datetime(log["date"])})
