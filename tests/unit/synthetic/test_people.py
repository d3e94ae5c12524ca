"""Persons and their contacts: unique per person, written differently per system, linkable."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import date
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from dagster_project.lib.sources import specs
from dagster_project.lib.synthetic import places
from dagster_project.lib.synthetic.people import FEMALE_NAMES, MALE_NAMES

if TYPE_CHECKING:
    from conftest import Landing

VALID_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9.-]+\.[a-z]{2,}$")
PROVINCE_PREFIXES: dict[str, set[str]] = defaultdict(set)
for _city, _province, _first, _last, _ in places.CITIES:
    PROVINCE_PREFIXES[_province] |= {f"{_first:05d}"[:2], f"{_last:05d}"[:2]}


def normal_email(email: str) -> str:
    return email.strip().lower()


def normal_phone(phone: str) -> str:
    digits = re.sub(r"[^\d+]", "", phone)
    return re.sub(r"^(\+34|0034)", "", digits)


@pytest.fixture(scope="module")
def person_of(clean: Landing) -> dict[tuple[str, str], int]:
    """(system, id) -> person_id, from the truth."""
    out = {}
    for person in clean.truth.itertuples():
        if isinstance(person.card_id, str):
            out["card", person.card_id] = person.person_id
        if not pd.isna(person.shopify_customer_id):
            out["shopify", str(int(person.shopify_customer_id))] = person.person_id
    return out


def test_contacts_belong_to_one_person_each(
    clean: Landing, person_of: dict[tuple[str, str], int]
) -> None:
    owners: dict[tuple[str, str], set[int]] = defaultdict(set)
    for m in clean.csv("pos/members"):
        person = person_of["card", m["card_id"]]
        if m["email"]:
            owners["email", normal_email(m["email"])].add(person)
        if m["phone"]:
            owners["phone", normal_phone(m["phone"])].add(person)
    for c in clean.jsonl("ecommerce/customers"):
        person = person_of["shopify", str(c["id"])]
        owners["email", normal_email(c["email"])].add(person)
        if c["phone"]:
            owners["phone", normal_phone(c["phone"])].add(person)
    assert len(owners) > 2_000
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared


def test_card_and_online_account_of_a_person_share_an_email_or_a_phone(clean: Landing) -> None:
    """In some version of the card record (a later change may replace the shared address)."""
    versions: dict[str, list[dict[str, str]]] = defaultdict(list)
    for m in clean.csv("pos/members"):
        versions[m["card_id"]].append(m)
    customers = {c["id"]: c for c in clean.jsonl("ecommerce/customers")}
    both = clean.truth.dropna(subset=["card_id", "shopify_customer_id"])
    assert 0.05 < len(both) / len(clean.truth) < 0.15
    by_email = by_phone = written_differently = 0
    for person in both.itertuples():
        c = customers[int(person.shopify_customer_id)]
        emails = {m["email"] for m in versions[person.card_id] if m["email"]}
        phones = {m["phone"] for m in versions[person.card_id] if m["phone"]}
        same_email = [e for e in emails if normal_email(e) == c["email"]]
        same_phone = [
            p for p in phones if c["phone"] and normal_phone(p) == normal_phone(c["phone"])
        ]
        assert same_email or same_phone, (versions[person.card_id], c)
        by_email += bool(same_email)
        by_phone += bool(same_phone) and not same_email
        written_differently += any(e != c["email"] for e in same_email) or any(
            p != c["phone"] for p in same_phone
        )
    assert by_email > by_phone > 0
    assert written_differently > 0.3 * len(both)


def test_member_records_look_like_a_spanish_pharmacys(clean: Landing) -> None:
    enrolments = {}
    for m in clean.csv("pos/members"):
        enrolments.setdefault(m["card_id"], m)  # the first version is the enrolment
    rows = list(enrolments.values())
    emails = [m["email"] for m in rows if m["email"]]
    invalid = sum(not VALID_EMAIL.match(normal_email(e)) for e in emails) / len(emails)
    assert 0.002 < invalid < 0.03
    assert any(e != e.lower() for e in emails) and any(e != e.strip() for e in emails)
    phones = [m["phone"] for m in rows if m["phone"]]
    assert all(re.fullmatch(r"[67]\d{8}", normal_phone(p)) for p in phones)
    assert {p[:1] for p in phones} >= {"6", "7", "+", "0"}
    assert 0.5 < sum(m["email_opt_in"] == "true" for m in rows) / len(rows) < 0.7
    first_names = set(FEMALE_NAMES) | set(MALE_NAMES)
    assert all(m["first_name"] in first_names and len(m["last_name"].split()) >= 2 for m in rows)
    ages = [(clean.start - date.fromisoformat(m["birth_date"])).days / 365.25 for m in rows]
    assert min(ages) >= 18 and max(ages) <= 90.01
    changes = len(clean.csv("pos/members")) - len(rows)
    assert 0.05 * len(rows) < changes < 0.15 * len(rows)


def test_postal_codes_agree_with_the_province(clean: Landing) -> None:
    for store in clean.csv("pos/stores"):
        assert store["postal_code"][:2] in PROVINCE_PREFIXES[store["province"]], store
    customers = clean.jsonl("ecommerce/customers")
    for c in customers:
        address = c["default_address"]
        assert address["zip"][:2] in PROVINCE_PREFIXES[address["province"]], address
    subscribed = sum(c["email_marketing_consent"]["state"] == "subscribed" for c in customers)
    assert 0.45 < subscribed / len(customers) < 0.75


def test_unsubscribes_and_erasures_name_known_people(
    clean: Landing, person_of: dict[tuple[str, str], int]
) -> None:
    known = {normal_email(m["email"]) for m in clean.csv("pos/members") if m["email"]}
    known |= {c["email"] for c in clean.jsonl("ecommerce/customers")}
    unsubscribes = clean.csv("marketing/unsubscribes")
    assert unsubscribes and all(u["email"] in known for u in unsubscribes)
    assert {u["source_tool"] for u in unsubscribes} <= {"mailchimp", "klaviyo", "brevo", "hubspot"}
    # The newsletter goes to people on the list, in each tool's own words for its events.
    activity = clean.csv("marketing/campaign_activity")
    assert activity and all(a["email"] in known for a in activity)
    assert {a["event"].strip().lower() for a in activity} <= set(specs.CAMPAIGN_EVENTS)
    erasures = clean.csv("privacy/erasure_requests")
    assert erasures
    for e in erasures:
        assert e["card_id"] or e["shopify_customer_id"] or e["email"]
        if e["card_id"]:
            assert ("card", e["card_id"]) in person_of
        if e["shopify_customer_id"]:
            assert ("shopify", e["shopify_customer_id"]) in person_of
