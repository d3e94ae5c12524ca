"""What every email tool's export profile provides, and the audience it starts from.

An **audience** is the frame the export step hands each profile: one row per contactable customer
of a segment, with `customer_key`, `email`, `phone` (E.164), `first_name`, `last_name`,
`rfm_segment`,
`value_tier`, `lifecycle_stage`, `predicted_clv`, `probability_alive`,
`expected_next_purchase_date`, `recommended_category` and `recommended_subcategory` (what to
cross-sell, never health; empty without a recommendation) and `segment` (the export segment's
name).

People who must no longer get a segment's mail come in two kinds, and each tool is told of them
differently (docs/marketing.md):

- **Opt-outs** (`customer_key`, `email`, `reason`: `no_consent`, `unsubscribed` or `erased`)
  withdrew consent, unsubscribed or asked to be forgotten: they go to the tool's own global
  opt-out (Mailchimp unsubscribe, Klaviyo suppression, Brevo blocklist, HubSpot opt-out list).
- **Leavers** (`customer_key`, `email`, `reason`: `left_segment` or `invalid_email`) may still be
  mailed, only not as members of this segment: they get the segment's membership field set to
  "no" (`In <segment>`), on which the tool's segment is defined, and nothing global.

An SMS segment (`channel: sms`) works the same with the number instead of the address: the
people carry `phone`, the reasons are `no_sms_consent` and `erased` (opt-outs) or
`left_segment` and `no_phone` (leavers), and the tools that send SMS have a second profile
(`SMS_PROFILES`) whose files name the number.

Membership is a field per export segment, overwritten by every import, because a person can be in
several segments at once, and tags (Mailchimp) accumulate on import and are never taken away.

A profile turns them into the tool's own import columns; `lib/exports/files.py` writes the files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pandas as pd

AUDIENCE_COLUMNS = (
    "customer_key",
    "email",
    "phone",
    "first_name",
    "last_name",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "predicted_clv",
    "probability_alive",
    "expected_next_purchase_date",
    "recommended_category",
    "recommended_subcategory",
    "segment",
)
# Why someone stops getting a segment's mail: the first are global opt-outs, the rest only
# leave the segment.
OPTOUT_REASONS = ("no_consent", "unsubscribed", "erased", "no_sms_consent")
LEAVER_REASONS = ("left_segment", "invalid_email", "no_phone")


@dataclass(frozen=True)
class ExportProfile:
    """One tool's import format: its columns, separator and file limits."""

    tool: str
    # (audience, segment) → the import file of the segment's treated members
    upsert: Callable[[pd.DataFrame, str], pd.DataFrame]
    # opt-outs → the tool's global opt-out import
    optout: Callable[[pd.DataFrame], pd.DataFrame]
    # (leavers, segment) → an import that sets the segment's membership field to "no"
    leavers: Callable[[pd.DataFrame, str], pd.DataFrame]
    delimiter: str = ","
    # A file larger than this is split into numbered parts (the tool refuses bigger imports).
    max_rows: int | None = None
    max_bytes: int | None = None
    # Also write the upsert as Parquet (the generic profile, for pipelines rather than tools).
    parquet: bool = False
    # Columns holding phone numbers: a valid E.164 number keeps its leading plus (files.py).
    phone_columns: tuple[str, ...] = ()
    # The column every file of the profile names the person in, and what it holds: an email
    # address, or a phone number in E.164 for SMS (an erasure finds them there in files
    # written before it, by the keyed hash of either: lib/erasure/exports.py).
    address_column: str = "email"
    address_kind: Literal["email", "phone"] = "email"
    # The upsert's columns of the recommendation (category, subcategory); left out unless
    # exports.recommendations is on (the fields must exist in the tool first).
    recommendation_columns: tuple[str, ...] = ()

    @property
    def channel(self) -> str:
        """`email`, or `sms` for a profile whose files name phone numbers."""
        return "sms" if self.address_kind == "phone" else "email"


def iso_date(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD text; missing stays empty."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d").where(values.notna())


def iso_datetime(values: pd.Series) -> pd.Series:
    """Dates as YYYY-MM-DD HH:MM:SS text (midnight), for tools that want a time part."""
    return pd.to_datetime(values).dt.strftime("%Y-%m-%d %H:%M:%S").where(values.notna())


def money(values: pd.Series) -> pd.Series:
    """Amounts with two decimals as text, so every run writes the same bytes."""
    return values.map(lambda v: "" if pd.isna(v) else f"{float(v):.2f}")


def membership_field(segment: str) -> str:
    """The field (merge field, property, column) that says whether someone is in `segment`."""
    return f"In {segment}"


def flag(count: int, value: str) -> list[str]:
    """`value` once per row: the membership field's value in an upsert or leavers file."""
    return [value] * count
