"""Same arguments, same bytes; another seed, other data; an earlier run is never mixed in."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.lib.synthetic import generate

ARGS = {"customers": 600, "start": date(2024, 1, 1), "end": date(2024, 3, 31), "dirty_rate": 0.05}


def _digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_identical_files(tmp_path: Path) -> None:
    first = _digests_of(tmp_path / "a", seed=3)
    second = _digests_of(tmp_path / "b", seed=3)
    assert len(first) > 100
    assert first == second


def test_another_seed_gives_other_data(tmp_path: Path) -> None:
    first = _digests_of(tmp_path / "a", seed=3)
    other = _digests_of(tmp_path / "b", seed=4)
    for name in ("_truth/customers.parquet", "pos/stores/date=2024-01-01/stores.csv"):
        assert first[name] != other[name]
    tickets = [k for k in first if k.startswith("pos/tickets/")]
    assert all(first[k] != other.get(k) for k in tickets)


def test_an_earlier_run_is_replaced_only_when_asked(tmp_path: Path) -> None:
    generate(tmp_path, seed=3, **ARGS)
    with pytest.raises(FileExistsError, match="overwrite"):
        generate(tmp_path, seed=4, **ARGS)
    stale = tmp_path / "pos" / "tickets" / "date=2030-01-01"
    stale.mkdir()
    generate(tmp_path, seed=4, overwrite=True, **ARGS)
    assert not stale.exists()
    assert _digests(tmp_path) == _digests_of(tmp_path.parent / (tmp_path.name + "_fresh"), seed=4)


def test_arguments_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="dirty_rate"):
        generate(tmp_path, customers=10, dirty_rate=1.5)
    with pytest.raises(ValueError, match="before start"):
        generate(tmp_path, customers=10, start=date(2024, 2, 1), end=date(2024, 1, 1))


def _digests_of(root: Path, *, seed: int) -> dict[str, str]:
    generate(root, seed=seed, **ARGS)
    return _digests(root)


def test_tiny_worlds_are_written_too(tmp_path: Path) -> None:
    one = generate(tmp_path / "one", customers=1, start=date(2024, 5, 5), end=date(2024, 5, 5))
    assert one.persons == 1 and one.files["pos/stores"] == 1
    assert sum(one.rows.values()) == one.total_rows > 0
    every = generate(tmp_path / "every", customers=10, end=date(2024, 1, 31), dirty_rate=1.0)
    faults = pd.read_parquet(tmp_path / "every" / "_truth" / "dirty_rows.parquet")
    duplicates = (faults["fault"] == "duplicate_row").sum()
    assert duplicates > 0
    assert len(faults) == every.dirty_rows == every.total_rows - duplicates  # every row, once
