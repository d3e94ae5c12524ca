"""dirty_rate 0 gives rows that all satisfy the contract; 0.05 gives about 5 % faulty rows per
source, each recorded in `_truth/dirty_rows.parquet` at the file and line where it is."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

import pytest

from dagster_project.lib.sources import specs

if TYPE_CHECKING:
    from conftest import Landing

CSV_SOURCES = {
    "pos/stores": specs.POS_STORES,
    "catalog/products": specs.CATALOG_PRODUCTS,
    "pos/members": specs.POS_MEMBERS,
    "pos/tickets": specs.POS_TICKETS,
    "marketing/unsubscribes": specs.MARKETING_UNSUBSCRIBES,
    "marketing/campaign_activity": specs.MARKETING_CAMPAIGN_ACTIVITY,
    "privacy/erasure_requests": specs.PRIVACY_ERASURE_REQUESTS,
}
JSON_SOURCES = ("ecommerce/orders", "ecommerce/customers")


def _parses(value: str, type_: str) -> bool:
    try:
        if type_ == "DATE":
            return date.fromisoformat(value).isoformat() == value
        if type_ == "TIMESTAMP":
            return (
                datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime("%Y-%m-%d %H:%M:%S") == value
            )
        if type_ in ("INTEGER", "BIGINT"):
            return str(int(value)) == value
        if type_ == "BOOLEAN":
            return value in ("true", "false")
        if type_.startswith("DECIMAL"):
            Decimal(value)
            return re.fullmatch(r"-?\d+(\.\d+)?", value) is not None
    except (ValueError, InvalidOperation):
        return False
    return True


def csv_problems(source: specs.Source, row: dict[str, str]) -> list[str]:
    """Columns of a CSV record that break the contract (empty list when the row is clean)."""
    bad = []
    for column in source.columns:
        value = row[column.name]
        if value == "":
            if column.required:
                bad.append(column.name)
            continue
        if not _parses(value, column.type) or (
            ("value >= 0", "negative_amount") in column.checks and Decimal(value) < 0
        ):
            bad.append(column.name)
    return bad


def json_problems(obj: dict) -> list[str]:
    bad = []
    if not isinstance(obj.get("id"), int):
        bad.append("id")
    try:
        datetime.fromisoformat(obj["created_at"])
    except ValueError:
        bad.append("created_at")
    if "subtotal_price" in obj and Decimal(obj["subtotal_price"]) < 0:
        bad.append("subtotal_price")
    return bad


@pytest.mark.parametrize("landing_path", list(CSV_SOURCES))
def test_clean_csv_rows_satisfy_the_contract(clean: Landing, landing_path: str) -> None:
    source = CSV_SOURCES[landing_path]
    rows = clean.csv(landing_path)
    assert rows
    for row in rows:
        assert not csv_problems(source, row), row
        assert "Ã" not in "".join(v for v in row.values() if isinstance(v, str))
    keys = Counter((row["_file"], *(row[k] for k in source.batch_key)) for row in rows)
    assert max(keys.values()) == 1, keys.most_common(1)


@pytest.mark.parametrize("landing_path", JSON_SOURCES)
def test_clean_json_objects_satisfy_the_contract(clean: Landing, landing_path: str) -> None:
    objects = clean.jsonl(landing_path)
    for obj in objects:
        assert not json_problems(obj), obj
    keys = Counter((o["_file"], o["id"], o["updated_at"]) for o in objects)
    assert max(keys.values()) == 1


def test_clean_run_records_no_fault(clean: Landing) -> None:
    assert clean.summary.dirty_rows == 0 and clean.dirty_rows.empty


def test_members_fields_take_their_documented_values(clean: Landing) -> None:
    members = clean.csv("pos/members")
    assert {m["marital_status"] for m in members} == {
        "single",
        "married",
        "divorced",
        "widowed",
        "unknown",
    }
    assert all(re.fullmatch(r"\d{5}", m["postal_code"]) for m in members)
    assert {p["vat_rate"] for p in clean.csv("catalog/products")} == {"4", "10", "21"}


def test_dirty_rows_are_about_the_rate_and_recorded(dirty: Landing) -> None:
    faults = dirty.dirty_rows
    assert len(faults) == dirty.summary.dirty_rows > 0
    assert set(faults["fault"]) == {
        "bad_date",
        "negative_price",
        "missing_id",
        "duplicate_row",
        "mojibake",
    }
    for landing_path, written in dirty.summary.rows.items():
        recorded = faults[faults["source"] == landing_path]
        clean_rows = written - (recorded["fault"] == "duplicate_row").sum()
        if clean_rows >= 100:
            assert abs(len(recorded) / clean_rows - 0.05) < 0.002, landing_path
    assert not faults.duplicated(["file", "line"]).any()


@pytest.mark.parametrize("landing_path", list(CSV_SOURCES))
def test_each_csv_fault_is_where_it_is_recorded(dirty: Landing, landing_path: str) -> None:
    source = CSV_SOURCES[landing_path]
    rows = {(r["_file"], r["_line"]): r for r in dirty.csv(landing_path)}
    faults = dirty.dirty_rows[dirty.dirty_rows["source"] == landing_path]
    raw: dict[str, list[str]] = {}
    for fault in faults.itertuples():
        row = rows[fault.file, fault.line]
        if fault.fault == "duplicate_row":
            lines = raw.setdefault(
                fault.file, (dirty.root / fault.file).read_text(encoding="utf-8").split("\n")
            )
            assert lines[fault.line - 1] == lines[fault.line - 2]
        elif fault.fault == "mojibake":
            assert "Ã" in row[fault.column]
        else:
            assert fault.column in csv_problems(source, row), (fault, row)
    # And every row that breaks the contract is a recorded one.
    broken = {key for key, row in rows.items() if csv_problems(source, row)}
    assert broken == set(zip(faults["file"], faults["line"], strict=True)) - {
        (f.file, f.line) for f in faults.itertuples() if f.fault in ("duplicate_row", "mojibake")
    }


@pytest.mark.parametrize("landing_path", JSON_SOURCES)
def test_each_json_fault_is_where_it_is_recorded(dirty: Landing, landing_path: str) -> None:
    objects = {(o["_file"], o["_line"]): o for o in dirty.jsonl(landing_path)}  # all lines parse
    faults = dirty.dirty_rows[dirty.dirty_rows["source"] == landing_path]
    assert len(faults) > 0
    expected_broken = set()
    for fault in faults.itertuples():
        obj = objects[fault.file, fault.line]
        if fault.fault == "duplicate_row":
            previous = dict(objects[fault.file, fault.line - 1], _line=fault.line)
            assert previous == obj
        elif fault.fault == "mojibake":
            assert "Ã" in str(obj[fault.column])
        else:
            assert fault.column in json_problems(obj), (fault, obj)
            expected_broken.add((fault.file, fault.line))
    broken = {key for key, obj in objects.items() if json_problems(obj)}
    assert broken == expected_broken
