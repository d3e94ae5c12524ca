"""Small generated landing folders shared by the synthetic-generator tests."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date
from functools import cached_property
from pathlib import Path

import pandas as pd
import pytest

from dagster_project.lib.synthetic import GenerationSummary, generate

START, END = date(2024, 1, 1), date(2024, 6, 30)


@dataclass
class Landing:
    """A generated landing folder and helpers to read it back as plain Python rows."""

    root: Path
    summary: GenerationSummary
    start: date = START
    end: date = END

    def files(self, landing_path: str) -> list[Path]:
        return sorted((self.root / landing_path).glob("date=*/*"))

    def csv(self, landing_path: str) -> list[dict[str, str]]:
        """Every record of a CSV source, with `_file`, `_line` (header = line 1) and `_day`."""
        rows = []
        for path in self.files(landing_path):
            with path.open(newline="", encoding="utf-8") as f:
                for line, row in enumerate(csv.DictReader(f), start=2):
                    row.update(
                        _file=str(path.relative_to(self.root)),
                        _line=line,
                        _day=path.parent.name[5:],
                    )
                    rows.append(row)
        return rows

    def jsonl(self, landing_path: str) -> list[dict]:
        """Every object of a JSON Lines source, with `_file`, `_line` (from 1) and `_day`."""
        rows = []
        for path in self.files(landing_path):
            with path.open(encoding="utf-8") as f:
                for line, text in enumerate(f, start=1):
                    obj = json.loads(text)
                    obj.update(
                        _file=str(path.relative_to(self.root)),
                        _line=line,
                        _day=path.parent.name[5:],
                    )
                    rows.append(obj)
        return rows

    @cached_property
    def truth(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "_truth" / "customers.parquet")

    @cached_property
    def parameters(self) -> dict:
        return json.loads((self.root / "_truth" / "parameters.json").read_text())

    @cached_property
    def dirty_rows(self) -> pd.DataFrame:
        return pd.read_parquet(self.root / "_truth" / "dirty_rows.parquet")


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    """1,500 customers over six months (crossing the spring clock change), no faults."""
    root = tmp_path_factory.mktemp("clean")
    return Landing(root, generate(root, customers=1_500, start=START, end=END, seed=7))


@pytest.fixture(scope="session")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Landing:
    """The same world with 5 % of the rows of each source given a fault."""
    root = tmp_path_factory.mktemp("dirty")
    return Landing(
        root, generate(root, customers=1_500, start=START, end=END, seed=7, dirty_rate=0.05)
    )
