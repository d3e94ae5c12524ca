"""Brevo (formerly Sendinblue) contact import (Contacts → Import contacts → Upload a file).

Upsert columns: `EMAIL`, `FIRSTNAME`, `LASTNAME` (Brevo's own attribute names), then attributes
`IN_<SEGMENT>` (a boolean, `true`: the Brevo segment is defined on it), `RFM_SEGMENT`,
`VALUE_TIER`, `LIFECYCLE_STAGE`, `PREDICTED_CLV`, `NEXT_ORDER_DATE` (ISO dates; create the
attributes once in Brevo). Separator `;` by default, as Brevo's templates use
(`exports.brevo_delimiter` switches to `,`). Files over 250 MB are split into numbered parts.
Leavers: `EMAIL` and `IN_<SEGMENT>` = `false` (an import that updates existing contacts).
Opt-outs: `EMAIL`, imported into the blocklist (no email from the account any more).

SMS segments (`SMS_PROFILE`): the same files with `SMS` (the number in E.164, with its plus,
Brevo's own attribute for the mobile number) in place of `EMAIL`; opt-outs are imported into
the SMS blocklist.
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, flag, iso_date, money

MAX_BYTES = 250 * 1024 * 1024


def membership_attribute(segment: str) -> str:
    """Brevo's attribute names are upper case letters, digits and underscores."""
    return "IN_" + segment.upper().replace("-", "_")


# What to cross-sell (analytics.customer_recommendations), when exports ask for it.
RECOMMENDATION = ("RECOMMENDED_CATEGORY", "RECOMMENDED_SUBCATEGORY")


def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "EMAIL": audience["email"],
            "FIRSTNAME": audience["first_name"],
            "LASTNAME": audience["last_name"],
            membership_attribute(segment): flag(len(audience), "true"),
            "RFM_SEGMENT": audience["rfm_segment"],
            "VALUE_TIER": audience["value_tier"],
            "LIFECYCLE_STAGE": audience["lifecycle_stage"],
            "PREDICTED_CLV": money(audience["predicted_clv"]),
            "NEXT_ORDER_DATE": iso_date(audience["expected_next_purchase_date"]),
            RECOMMENDATION[0]: audience["recommended_category"],
            RECOMMENDATION[1]: audience["recommended_subcategory"],
        }
    )


def leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"EMAIL": people["email"], membership_attribute(segment): flag(len(people), "false")}
    )


def optout(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"EMAIL": people["email"]})


PROFILE = ExportProfile(
    "brevo",
    upsert,
    optout,
    leavers,
    delimiter=";",
    max_bytes=MAX_BYTES,
    address_column="EMAIL",
    recommendation_columns=RECOMMENDATION,
)


def sms_upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    frame = upsert(audience, segment).drop(columns="EMAIL")
    frame.insert(0, "SMS", audience["phone"].to_numpy())
    return frame


def sms_leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    return pd.DataFrame(
        {"SMS": people["phone"], membership_attribute(segment): flag(len(people), "false")}
    )


def sms_optout(people: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"SMS": people["phone"]})


SMS_PROFILE = ExportProfile(
    "brevo",
    sms_upsert,
    sms_optout,
    sms_leavers,
    delimiter=";",
    max_bytes=MAX_BYTES,
    phone_columns=("SMS",),
    address_column="SMS",
    address_kind="phone",
    recommendation_columns=RECOMMENDATION,
)
