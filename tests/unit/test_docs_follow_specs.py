"""The source contract lives in specs.py and in the docs; they must say the same."""

from pathlib import Path

import pytest

from dagster_project.lib.sources.specs import ALL_RAW_TABLES, FILE_SOURCES, QUARANTINE_REASONS
from dagster_project.lib.tables import PYTHON_TABLES

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("source", ALL_RAW_TABLES, ids=lambda s: s.name)
def test_every_raw_column_is_documented_in_the_warehouse_doc(source):
    text = (DOCS / "warehouse.md").read_text(encoding="utf-8")
    row = next(line for line in text.splitlines() if line.startswith(f"| `raw.{source.name}`"))
    missing = [name for name, _ in source.raw_columns()[3:] if f"`{name}`" not in row]
    assert not missing, f"docs/warehouse.md raw.{source.name} lacks {missing}"


@pytest.mark.parametrize("source", FILE_SOURCES, ids=lambda s: s.name)
def test_every_landing_column_is_documented_in_the_sources_doc(source):
    text = (DOCS / "sources.md").read_text(encoding="utf-8")
    assert f"`{source.landing_path}` → `raw.{source.name}`" in text
    if source.format == "csv":
        for column in source.columns:
            assert f"| {column.name} |" in text, (
                f"docs/sources.md lacks {source.name}.{column.name}"
            )


def test_every_quarantine_reason_is_documented():
    text = (DOCS / "warehouse.md").read_text(encoding="utf-8")
    assert all(f"`{reason.code}`" in text for reason in QUARANTINE_REASONS)


@pytest.mark.parametrize("table", PYTHON_TABLES, ids=lambda t: t.qualified)
def test_every_column_python_writes_is_documented(table):
    """Derived from the registry of the tables Python writes (lib/tables.py): a column added
    there and named in no doc fails here. Named in full, in backquotes, in the warehouse doc or
    the doc that defines it."""
    text = "".join(
        (DOCS / name).read_text(encoding="utf-8")
        for name in ("warehouse.md", "analytics.md", "clv.md", "marketing.md")
    )
    missing = [name for name, _ in table.columns if f"`{name}`" not in text]
    assert not missing, f"{table.qualified}: no doc names {missing}"
