"""A generic export for pipelines and other tools: every audience column, as CSV and Parquet.

Columns: `customer_key`, `email`, `first_name`, `last_name`, `segment`, `rfm_segment`,
`value_tier`, `lifecycle_stage`, `predicted_clv`, `probability_alive`,
`expected_next_purchase_date` (ISO date). Opt-outs: `customer_key`, `email`, `reason`
(`no_consent`, `unsubscribed`, `erased`); leavers of the segment: `customer_key`, `email`,
`segment`, `reason` (`left_segment`, `invalid_email`).
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


def upsert(audience: pd.DataFrame, segment: str) -> pd.DataFrame:
    frame = audience.loc[:, list(COLUMNS)].copy()
    frame["predicted_clv"] = frame["predicted_clv"].round(2)
    frame["expected_next_purchase_date"] = iso_date(frame["expected_next_purchase_date"])
    return frame


def leavers(people: pd.DataFrame, segment: str) -> pd.DataFrame:
    frame = people.loc[:, ["customer_key", "email"]].copy()
    frame["segment"] = [segment] * len(frame)
    frame["reason"] = people["reason"].to_numpy()
    return frame


def optout(people: pd.DataFrame) -> pd.DataFrame:
    return people.loc[:, ["customer_key", "email", "reason"]].copy()


PROFILE = ExportProfile(
    "generic",
    upsert,
    optout,
    leavers,
    parquet=True,
    recommendation_columns=("recommended_category", "recommended_subcategory"),
)
