"""Mailchimp audience import (Audience → Import contacts → Upload a file).

Upsert columns: `Email Address`, `First Name`, `Last Name`, then merge fields `In <segment>`
(`yes`: the Mailchimp segment is defined on it), `RFM Segment`, `Value Tier`, `Lifecycle Stage`,
`Predicted CLV`, `Next Order Date` (ISO dates). No tags: an import only ever adds tags, so an old
tier or stage tag would stay forever; merge fields are overwritten by each import. UTF-8, commas.
Leavers: `Email Address` and `In <segment>` = `no` (import with "Update any existing contacts":
they leave the segment and stay subscribed). Opt-outs: `Email Address`, imported with the status
"Unsubscribed" (unsubscribed from the whole audience).
"""

import pandas as pd

from dagster_project.lib.exports.profile import (
    ExportProfile,
    flag,
    iso_date,
    membership_field,
    money,
)

# What to cross-sell (analytics.customer_recommendations), when exports ask for it.
RECOMMENDATION = ("Recommended Category", "Recommended Subcategory")


def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email Address": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            membership_field(segment): flag(len(audience), "yes"),
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Lifecycle Stage": audience["lifecycle_stage"],
            "Predicted CLV": money(audience["predicted_clv"]),
            "Next Order Date": iso_date(audience["expected_next_purchase_date"]),
            RECOMMENDATION[0]: audience["recommended_category"],
            RECOMMENDATION[1]: audience["recommended_subcategory"],
        }
    )


def leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"Email Address": people["email"], membership_field(segment): flag(len(people), "no")}
    )


def optout(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Email Address": people["email"]})


PROFILE = ExportProfile(
    "mailchimp",
    upsert,
    optout,
    leavers,
    address_column="Email Address",
    recommendation_columns=RECOMMENDATION,
)
