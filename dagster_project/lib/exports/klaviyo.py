"""Klaviyo list import (Lists & Segments → a list → Import contacts).

Upsert columns: `Email`, `First Name`, `Last Name`, `Email Marketing Consent` (`SUBSCRIBED`: only
people who gave consent are exported), custom properties `In <segment>` (`true`: a Klaviyo segment
"Properties about someone: In <segment> equals true" follows it), `RFM Segment`, `Value Tier`,
`Lifecycle Stage`, `Predicted CLV`, `Probability Alive`, `Expected Next Order Date` (dates with a
time part, as Klaviyo reads them). Files over 50 MB are split into numbered parts.
Leavers: `Email` and `In <segment>` = `false`, imported into the same list (the property changes,
the segment lets them go; consent untouched). Opt-outs: `Email`, imported under Profiles →
Suppressed profiles (account-wide).

SMS segments (`SMS_PROFILE`): `Phone Number` (E.164, with its plus) in place of `Email` and
`SMS Marketing Consent` in place of the email consent; opt-outs are the same import with
`SMS Marketing Consent` = `UNSUBSCRIBED` (Klaviyo's suppression list is for email only).
"""

import pandas as pd

from dagster_project.lib.exports.profile import (
    ExportProfile,
    flag,
    iso_datetime,
    membership_field,
    money,
)

MAX_BYTES = 50 * 1024 * 1024

# What to cross-sell (analytics.customer_recommendations), when exports ask for it.
RECOMMENDATION = ("Recommended Category", "Recommended Subcategory")


def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Email": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            "Email Marketing Consent": flag(len(audience), "SUBSCRIBED"),
            membership_field(segment): flag(len(audience), "true"),
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Lifecycle Stage": audience["lifecycle_stage"],
            "Predicted CLV": money(audience["predicted_clv"]),
            "Probability Alive": audience["probability_alive"].map(
                lambda v: "" if pd.isna(v) else f"{float(v):.4f}"
            ),
            "Expected Next Order Date": iso_datetime(audience["expected_next_purchase_date"]),
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
    "klaviyo",
    upsert,
    optout,
    leavers,
    max_bytes=MAX_BYTES,
    address_column="Email",
    recommendation_columns=RECOMMENDATION,
)


def sms_upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    frame = upsert(audience, segment).drop(columns=["Email", "Email Marketing Consent"])
    frame.insert(0, "Phone Number", audience["phone"].to_numpy())
    frame.insert(3, "SMS Marketing Consent", flag(len(audience), "SUBSCRIBED"))
    return frame


def sms_leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"Phone Number": people["phone"], membership_field(segment): flag(len(people), "false")}
    )


def sms_optout(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "Phone Number": people["phone"],
            "SMS Marketing Consent": flag(len(people), "UNSUBSCRIBED"),
        }
    )


SMS_PROFILE = ExportProfile(
    "klaviyo",
    sms_upsert,
    sms_optout,
    sms_leavers,
    max_bytes=MAX_BYTES,
    phone_columns=("Phone Number",),
    address_column="Phone Number",
    address_kind="phone",
    recommendation_columns=RECOMMENDATION,
)
