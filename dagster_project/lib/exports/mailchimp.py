"""Mailchimp audience import (Audience → Import contacts → Upload a file).

Columns: `Email Address`, `First Name`, `Last Name`, `Tags` (comma-separated: the export segment,
the value tier and the lifecycle stage), then merge fields `Segment`, `RFM Segment`, `Value Tier`,
`Lifecycle Stage`, `Predicted CLV`, `Next Order Date` (ISO dates). UTF-8, comma-separated.
Suppression: `Email Address` only; import it with the status "Unsubscribed".
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, iso_date, money


def upsert(audience: pd.DataFrame) -> pd.DataFrame:
    tags = audience["segment"] + "," + audience["value_tier"].fillna("") + ","
    tags = tags + audience["lifecycle_stage"].fillna("")
    return pd.DataFrame(
        {
            "Email Address": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            "Tags": tags.str.strip(","),
            "Segment": audience["segment"],
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Lifecycle Stage": audience["lifecycle_stage"],
            "Predicted CLV": money(audience["predicted_clv"]),
            "Next Order Date": iso_date(audience["expected_next_purchase_date"]),
        }
    )


def suppression(leavers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Email Address": leavers["email"]})


PROFILE = ExportProfile("mailchimp", upsert, suppression)
