"""`_truth/` agrees with the landing files: the same purchases, people and dates."""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import TYPE_CHECKING

import pandas as pd
import pytest

if TYPE_CHECKING:
    from conftest import Landing


def _local(iso: str) -> str:
    """Shopify's ISO timestamp as local wall-clock text, like the CSV timestamps."""
    return iso[:19].replace("T", " ")


@pytest.fixture(scope="module")
def observed(clean: Landing) -> pd.DataFrame:
    """Per person (as the truth identifies them): purchases seen in the files, first and last."""
    count: Counter[tuple[str, str]] = Counter()
    times: dict[tuple[str, str], list[str]] = defaultdict(list)
    seen: set[str] = set()
    for line in clean.csv("pos/tickets"):
        if line["card_id"] and not line["original_ticket_id"] and line["ticket_id"] not in seen:
            seen.add(line["ticket_id"])
            count["card", line["card_id"]] += 1
            times["card", line["card_id"]].append(line["sold_at"])
    latest: dict[int, dict] = {}
    for o in clean.jsonl("ecommerce/orders"):
        if o["id"] not in latest or o["updated_at"] > latest[o["id"]]["updated_at"]:
            latest[o["id"]] = o
    for o in latest.values():
        if o["customer"] is None:
            continue
        key = ("shopify", str(o["customer"]["id"]))
        times[key].append(_local(o["created_at"]))  # a cancelled order was still placed
        if not o["cancelled_at"]:
            count[key] += 1
    truth = clean.truth
    rows = []
    for person in truth.itertuples():
        keys = []
        if isinstance(person.card_id, str):
            keys.append(("card", person.card_id))
        if not pd.isna(person.shopify_customer_id):
            keys.append(("shopify", str(int(person.shopify_customer_id))))
        stamps = [t for k in keys for t in times[k]]
        rows.append(
            {
                "person_id": person.person_id,
                "purchases": sum(count[k] for k in keys),
                "first": min(stamps) if stamps else None,
                "last": max(stamps) if stamps else None,
            }
        )
    return truth.merge(pd.DataFrame(rows), on="person_id")


def test_truth_has_one_row_per_person(clean: Landing) -> None:
    truth = clean.truth
    assert len(truth) == clean.summary.persons == 1_500
    assert truth["person_id"].is_unique
    assert (truth["card_id"].notna() | truth["shopify_customer_id"].notna()).all()
    assert ((truth["mean_spend"] - 6.0 / truth["spend_scale"]).abs() < 1e-9).all()
    assert truth["n_purchases"].sum() == clean.summary.purchases


def test_purchases_in_the_files_are_the_true_ones_minus_cancellations(
    observed: pd.DataFrame,
) -> None:
    expected = observed["n_purchases"] - observed["n_cancelled"]
    mismatch = observed[observed["purchases"] != expected]
    assert mismatch.empty, mismatch[["person_id", "n_purchases", "n_cancelled", "purchases"]].head()
    assert observed["n_cancelled"].sum() > 0


def test_first_and_last_purchase_times(observed: pd.DataFrame) -> None:
    buyers = observed[observed["n_purchases"] > 0]
    first = buyers["first_purchase_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    last = buyers["last_purchase_at"].dt.strftime("%Y-%m-%d %H:%M:%S")
    assert (first == buyers["first"]).all()
    assert (last == buyers["last"]).all()


def test_churn_and_prospects(observed: pd.DataFrame) -> None:
    churned = observed[~observed["is_alive_at_end"]]
    assert 0.1 < len(churned) / len(observed) < 0.6
    assert (churned["true_churn_at"] == churned["last_purchase_at"]).all()
    assert (churned["n_purchases"] >= 2).all()  # BG/NBD: dropout follows a repeat purchase
    assert observed.loc[observed["is_alive_at_end"], "true_churn_at"].isna().all()
    prospects = observed[observed["is_prospect"]]
    assert len(prospects) > 0
    assert (prospects["n_purchases"] == 0).all() and prospects["card_id"].notna().all()
    assert (observed.loc[~observed["is_prospect"], "n_purchases"] > 0).all()


def test_cards_and_accounts_exist_before_they_are_used(
    clean: Landing, observed: pd.DataFrame
) -> None:
    enrolled: dict[str, str] = {}
    for m in clean.csv("pos/members"):
        enrolled[m["card_id"]] = min(enrolled.get(m["card_id"], m["updated_at"]), m["updated_at"])
    first_ticket: dict[str, str] = {}
    for line in clean.csv("pos/tickets"):
        if line["card_id"]:
            first_ticket[line["card_id"]] = min(
                first_ticket.get(line["card_id"], line["sold_at"]), line["sold_at"]
            )
    assert first_ticket
    assert all(enrolled[card] <= sold for card, sold in first_ticket.items())
    assert set(enrolled) == set(observed["card_id"].dropna())

    created = {c["id"]: c["created_at"] for c in clean.jsonl("ecommerce/customers")}
    for o in clean.jsonl("ecommerce/orders"):
        if o["customer"] is not None:
            assert created[o["customer"]["id"]] <= o["created_at"]
    assert set(created) == set(observed["shopify_customer_id"].dropna().astype(int))


def test_parameters_describe_the_population(clean: Landing) -> None:
    params = clean.parameters
    for key in ("r", "alpha", "a", "b", "p", "q", "gamma"):
        assert params[key] > 0
    assert params["seed"] == 7 and params["customers"] == 1_500
    assert (params["start"], params["end"]) == (clean.start.isoformat(), clean.end.isoformat())
    assert params["time_unit"] == "day"
