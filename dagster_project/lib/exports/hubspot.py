"""HubSpot contact import (Contacts → Import → File from computer → One file, one object).

Upsert columns: `Email`, `First Name`, `Last Name`, `Lifecycle Stage` (HubSpot's own property:
`lead` for a card member with no purchase yet, `customer` for everyone who bought), then custom
properties `In <segment>` (a single checkbox, `true`: the HubSpot list is defined on it),
`RFM Segment`, `Value Tier`, `Loyalty Stage` (our lifecycle stage), `Predicted CLV`,
`Next Order Date` (ISO dates). Files are split into numbered parts past 250,000 rows (well under
HubSpot's per-file limits of 1,048,576 rows and 512 MB).
Leavers: `Email` and `In <segment>` = `false`, a contact import that updates existing records.
Opt-outs: `Email` only, for Import → "Import an opt-out list", which sets "Unsubscribed from all
email" (the property `Marketing contact status` is a billing flag and unsubscribes nobody).
"""

import pandas as pd

from dagster_project.lib.exports.profile import (
    ExportProfile,
    flag,
    iso_date,
    membership_field,
    money,
)

MAX_ROWS = 250_000
MAX_BYTES = 512 * 1024 * 1024

# What to cross-sell (analytics.customer_recommendations), when exports ask for it.
RECOMMENDATION = ("Recommended Category", "Recommended Subcategory")


def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    stage = audience["lifecycle_stage"]
    return pd.DataFrame(
        {
            "Email": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            "Lifecycle Stage": stage.map(lambda s: "lead" if s == "prospect" else "customer"),
            membership_field(segment): flag(len(audience), "true"),
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Loyalty Stage": stage,
            "Predicted CLV": money(audience["predicted_clv"]),
            "Next Order Date": iso_date(audience["expected_next_purchase_date"]),
            RECOMMENDATION[0]: audience["recommended_category"],
            RECOMMENDATION[1]: audience["recommended_subcategory"],
        }
    )


def leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"Email": people["email"], membership_field(segment): flag(len(people), "false")}
    )


def optout(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Email": people["email"]})


PROFILE = ExportProfile(
    "hubspot",
    upsert,
    optout,
    leavers,
    max_rows=MAX_ROWS,
    max_bytes=MAX_BYTES,
    address_column="Email",
    recommendation_columns=RECOMMENDATION,
)
