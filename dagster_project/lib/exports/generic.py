"""A generic export for pipelines and other tools: every audience column, as CSV and Parquet.

Columns: `customer_key`, `email`, `first_name`, `last_name`, `segment`, `rfm_segment`,
`value_tier`, `lifecycle_stage`, `predicted_clv`, `probability_alive`,
`expected_next_purchase_date` (ISO date). Opt-outs: `customer_key`, `email`, `reason`
(`no_consent`, `unsubscribed`, `erased`); leavers of the segment: `customer_key`, `email`,
`segment`, `reason` (`left_segment`, `invalid_email`).

SMS segments (`SMS_PROFILE`): the same files with `phone` (E.164) in place of `email`, reasons
`no_sms_consent`, `erased` (opt-outs) and `left_segment`, `no_phone` (leavers).
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, iso_date

COLUMNS = (
    "customer_key",
    "email",
    "first_name",
    "last_name",
    "segment",
    "rfm_segment",
    "value_tier",
    "lifecycle_stage",
    "predicted_clv",
    "probability_alive",
    "expected_next_purchase_date",
    "recommended_category",
    "recommended_subcategory",
)


def _profile(address: str) -> ExportProfile:
    """The generic files naming people by `address` (`email`, or `phone` for SMS)."""
    columns = [address if column == "email" else column for column in COLUMNS]

    def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
        frame = audience.loc[:, columns].copy()
        frame["predicted_clv"] = frame["predicted_clv"].round(2)
        frame["expected_next_purchase_date"] = iso_date(frame["expected_next_purchase_date"])
        return frame

    def leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
        frame = people.loc[:, ["customer_key", address]].copy()
        frame["segment"] = [segment] * len(frame)
        frame["reason"] = people["reason"].to_numpy()
        return frame

    def optout(people: pd.DataFrame) -> pd.DataFrame:
        return people.loc[:, ["customer_key", address, "reason"]].copy()

    return ExportProfile(
        "generic",
        upsert,
        optout,
        leavers,
        parquet=True,
        phone_columns=("phone",) if address == "phone" else (),
        address_column=address,
        address_kind="phone" if address == "phone" else "email",
        recommendation_columns=("recommended_category", "recommended_subcategory"),
    )


PROFILE = _profile("email")
SMS_PROFILE = _profile("phone")
