"""`_truth/`: what the generator knows and the pipeline must estimate.

- `customers.parquet`, one row per person: `person_id`; `card_id` and `shopify_customer_id`
  (null when the person has no card / no online account); `channel` (card, both, online);
  `is_prospect` (a member who never buys); the latent `purchase_rate_per_day` (lambda),
  `dropout_probability` (p), `spend_scale` (nu) and `mean_spend` (p/nu, EUR); `first_purchase_at`,
  `last_purchase_at` and `true_churn_at` (the purchase after which the person dropped out, null
  while alive) as local wall-clock timestamps; `is_alive_at_end`; `n_purchases` (all purchases
  of the process, including orders cancelled later), `n_online_purchases` and `n_cancelled`
  (orders whose cancellation was delivered within the period). In the files a person shows
  `n_purchases - n_cancelled` purchases. `need`: what leans part of the person's baskets
  toward a few categories (needs.NEEDS; null for none).
- `parameters.json`: the population parameters (r, alpha per day, a, b; Gamma-Gamma p, q,
  gamma), the seed, the dates and the business shares.
- `dirty_rows.parquet`: every injected fault (source, file, line, fault, column); the line is
  the record number as in `specs.LINEAGE_COLUMNS` (CSV header = 1, first JSON object = 1).

The truth describes the clean process: faults change the files, not the truth.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from dagster_project.lib.synthetic.accounts import Accounts
from dagster_project.lib.synthetic.needs import NEEDS
from dagster_project.lib.synthetic.params import PopulationParams, WorldParams
from dagster_project.lib.synthetic.people import Persons
from dagster_project.lib.synthetic.purchases import Histories, Purchases
from dagster_project.lib.synthetic.timeline import SECONDS_PER_DAY, Timeline

CHANNELS = ("card", "both", "online")


def _timestamps(timeline: Timeline, local_seconds: np.ndarray, valid: np.ndarray) -> pa.Array:
    """Local wall-clock times as a naive Arrow timestamp (null where not valid)."""
    epoch = (timeline.start - date(1970, 1, 1)).days * SECONDS_PER_DAY
    return pa.array(np.where(valid, local_seconds + epoch, 0), pa.timestamp("s"), mask=~valid)


def customers_table(
    timeline: Timeline,
    persons: Persons,
    accounts: Accounts,
    purchases: Purchases,
    histories: Histories,
    cancelled: np.ndarray,
    population: PopulationParams,
    needs: np.ndarray,
) -> pa.Table:
    """One row per person."""
    n = len(persons)
    bought = histories.n_purchases > 0
    first_at = purchases.at[np.maximum(histories.first, 0)]
    last_at = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_at, purchases.person, purchases.at)
    online = np.bincount(purchases.person[purchases.online], minlength=n)
    has_customer = accounts.customer_id >= 0
    return pa.table(
        {
            "person_id": pa.array(np.arange(1, n + 1), pa.int64()),
            "card_id": accounts.card_id,
            "shopify_customer_id": pa.array(accounts.customer_id, pa.int64(), mask=~has_customer),
            "channel": pa.array(np.array(CHANNELS, dtype=object)[persons.kind], pa.string()),
            "is_prospect": pa.array(persons.is_prospect),
            "purchase_rate_per_day": pa.array(persons.lam),
            "dropout_probability": pa.array(persons.p),
            "spend_scale": pa.array(persons.nu),
            "mean_spend": pa.array(population.p / persons.nu),
            "first_purchase_at": _timestamps(timeline, first_at, bought),
            "last_purchase_at": _timestamps(timeline, last_at, bought),
            # The purchase after which the person dropped out is their last one.
            "true_churn_at": _timestamps(timeline, last_at, histories.dropped_out),
            "is_alive_at_end": pa.array(~histories.dropped_out),
            "n_purchases": pa.array(histories.n_purchases, pa.int64()),
            "n_online_purchases": pa.array(online, pa.int64()),
            "n_cancelled": pa.array(cancelled, pa.int64()),
            "need": pa.array(np.array([*NEEDS, None], dtype=object)[needs], pa.string()),
        }
    )


def parameters(
    population: PopulationParams,
    world: WorldParams,
    *,
    seed: int,
    start: date,
    end: date,
    customers: int,
    dirty_rate: float,
) -> dict[str, object]:
    return {
        "model": "BG/NBD purchases and dropout, Gamma-Gamma spend",
        "time_unit": "day",
        "notes": (
            "lambda ~ Gamma(shape r, rate alpha) per day; dropout after each repeat purchase "
            "p ~ Beta(a, b); spend scale nu ~ Gamma(shape q, rate gamma); purchase value "
            "z ~ Gamma(shape p, rate nu), net of discounts, VAT included, before shipping. "
            "The process is exactly BG/NBD in operational time (seasonality stretches the "
            "calendar), first purchases uniform over the period."
        ),
        **population.as_dict(),
        "mean_purchase_rate_per_day": population.r / population.alpha,
        "mean_dropout_probability": population.a / (population.a + population.b),
        "mean_spend": population.p * population.gamma / (population.q - 1),
        "seed": seed,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "customers": customers,
        "dirty_rate": dirty_rate,
        "world": asdict(world),
    }


def write_truth(
    out_dir: Path, customers: pa.Table, params: dict[str, object], dirty_rows: pa.Table
) -> None:
    folder = out_dir / "_truth"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(customers, folder / "customers.parquet")
    pq.write_table(dirty_rows, folder / "dirty_rows.parquet")
    (folder / "parameters.json").write_text(json.dumps(params, indent=2, ensure_ascii=False) + "\n")
