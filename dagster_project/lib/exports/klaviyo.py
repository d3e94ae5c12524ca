"""Klaviyo list import (Lists & Segments → a list → Import contacts).

Columns: `Email`, `First Name`, `Last Name`, `Email Marketing Consent` (`SUBSCRIBED`: only people
who gave consent are exported), custom properties `Segment`, `RFM Segment`, `Value Tier`,
`Lifecycle Stage`, `Predicted CLV`, `Probability Alive`, `Expected Next Order Date` (dates with a
time part, as Klaviyo reads them). Files over 50 MB are split into numbered parts.
Suppression: `Email` only; import it under Profiles → Suppressed profiles.
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, iso_datetime, money

MAX_BYTES = 50 * 1024 * 1024


def upsert(audience: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            "Email Marketing Consent": "SUBSCRIBED",
            "Segment": audience["segment"],
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Lifecycle Stage": audience["lifecycle_stage"],
            "Predicted CLV": money(audience["predicted_clv"]),
            "Probability Alive": audience["probability_alive"].map(
                lambda v: "" if pd.isna(v) else f"{float(v):.4f}"
            ),
            "Expected Next Order Date": iso_datetime(audience["expected_next_purchase_date"]),
        }
    )


def suppression(leavers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Email": leavers["email"]})


PROFILE = ExportProfile("klaviyo", upsert, suppression, max_bytes=MAX_BYTES)
