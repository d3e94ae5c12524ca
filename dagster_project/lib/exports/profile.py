"""What every email tool's export profile provides, and the audience it starts from.

An **audience** is the frame the export step hands each profile: one row per contactable customer
of a segment, with `customer_key`, `email`, `first_name`, `last_name`, `rfm_segment`,
`value_tier`, `lifecycle_stage`, `predicted_clv`, `probability_alive`,
`expected_next_purchase_date` and `segment` (the export segment's name). **Leavers** (for the
suppression file) have `customer_key` and `email`, and `reason`: `left_segment`, `no_consent`,
`unsubscribed` or `erased`.

A profile turns them into the tool's own import columns; `lib/exports/files.py` writes the files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

AUDIENCE_COLUMNS = (
    "customer_key",
    "email",
    "first_name",
    "last_name",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "predicted_clv",
    "probability_alive",
    "expected_next_purchase_date",
    "segment",
)
LEAVER_COLUMNS = ("customer_key", "email", "reason")


@dataclass(frozen=True)
class ExportProfile:
    """One tool's import format: its columns, separator and file limits."""

    tool: str
    upsert: Callable[[pd.DataFrame], pd.DataFrame]
    suppression: Callable[[pd.DataFrame], pd.DataFrame]
    delimiter: str = ","
    # A file larger than this is split into numbered parts (the tool refuses bigger imports).
    max_rows: int | None = None
    max_bytes: int | None = None
    # Also write the upsert as Parquet (the generic profile, for pipelines rather than tools).
    parquet: bool = False


def iso_date(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text; missing stays empty."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").where(values.notna())


def iso_datetime(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD HH:MM:SS text (midnight), for tools that want a time part."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M:%S").where(values.notna())


def money(values: pd.Series) -> pd.Series:
    """Amounts with two decimals as text, so every run writes the same bytes."""
    return values.map(lambda v: "" if pd.isna(v) else f"{float(v):.2f}")
