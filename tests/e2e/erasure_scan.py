"""Looking for a person everywhere the pipeline writes, by what the landing files say of them.

A person's values are read from the landing files (every card-member version, Shopify customer
and order of theirs), never from the pipeline's tables; then every column of every table of a
DuckDB file, and every file under a folder (CSV, JSON, HTML, Parquet, DuckDB), is searched for
them. A name is only looked for when no one else in the landing files carries it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import duckdb


@dataclass
class PersonValues:
    """What identifies a person: text found inside a value, ids matched whole."""

    texts: set[str] = field(default_factory=set)
    ids: set[str] = field(default_factory=set)

    def found_in(self, value: object) -> list[str]:
        text = str(value).lower()
        return [t for t in self.texts if t in text] + [i for i in self.ids if text == i]


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _normal(email: str | None) -> str:
    return (email or "").strip().lower()


def _phone_forms(phone: str | None) -> set[str]:
    digits = re.sub(r"\D", "", phone or "")
    # The national number (the last nine digits in Spain) is in every form of it.
    return {digits[-9:]} if len(digits) >= 9 else set()


def person_values(
    landing: Path, emails: set[str], card_ids: set[str], shopify_ids: set[str]
) -> PersonValues:
    """Everything the landing files say identifies the person named by any of the ids."""
    emails = {_normal(e) for e in emails if e}
    mine, names_of_others = PersonValues(), set()
    members = [r for p in sorted(landing.glob("pos/members/date=*/*.csv")) for r in _rows(p)]
    customers = [
        c for p in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")) for c in _jsonl(p)
    ]
    # Addresses first: a card and an account of the person share one.
    for row in members:
        if row["card_id"] in card_ids or _normal(row["email"]) in emails:
            card_ids.add(row["card_id"])
            emails.add(_normal(row["email"]))
    for customer in customers:
        if str(customer["id"]) in shopify_ids or _normal(customer.get("email")) in emails:
            shopify_ids.add(str(customer["id"]))
    for row in members:
        name = f"{row['first_name']} {row['last_name']}".strip().lower()
        if row["card_id"] in card_ids:
            mine.texts |= {_normal(row["email"]), row["last_name"].lower()} | _phone_forms(
                row["phone"]
            )
            mine.ids.add(row["card_id"])
        else:
            names_of_others |= {name, row["last_name"].lower()}
    for customer in customers:
        last = (customer.get("last_name") or "").lower()
        if str(customer["id"]) in shopify_ids:
            mine.texts |= {_normal(customer.get("email")), last} | _phone_forms(
                customer.get("phone")
            )
            mine.ids.add(str(customer["id"]))
        else:
            names_of_others.add(last)
    for path in sorted(landing.glob("ecommerce/orders/date=*/*.jsonl")):
        for order in _jsonl(path):
            buyer = order.get("customer") or {}
            if str(buyer.get("id")) in shopify_ids:
                mine.texts |= {_normal(buyer.get("email"))} | _phone_forms(buyer.get("phone"))
    mine.texts = {t for t in mine.texts if len(t) >= 6 and t not in names_of_others}
    return mine


def found_in_warehouse(path: Path, person: PersonValues) -> list[str]:
    """`schema.table.column: value` of every value of any table that names the person."""
    found = []
    with duckdb.connect(str(path), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns"
        ).fetchall()
        for schema, table, column in columns:
            values = con.execute(
                f'select distinct cast("{column}" as varchar) from "{schema}"."{table}"'
            ).fetchall()
            found += [
                f"{schema}.{table}.{column}: {hit}"
                for (value,) in values
                if value is not None
                for hit in person.found_in(value)
            ]
    return found


def found_in_files(folder: Path, person: PersonValues) -> list[str]:
    """`file: value` of every file under `folder` whose content names the person."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".duckdb":
            found += [f"{path}: {hit}" for hit in found_in_warehouse(path, person)]
            continue
        if path.suffix == ".parquet":
            with duckdb.connect() as con:
                rows = con.read_parquet(str(path)).fetchall()
            cells = [str(value) for row in rows for value in row]
        else:
            text = path.read_text(encoding="utf-8", errors="replace")
            cells = [c.strip('"') for line in text.splitlines() for c in re.split(r"[,;|\t]", line)]
            cells.append(text)
        found += [f"{path}: {hit}" for cell in cells for hit in person.found_in(cell)]
    return found
