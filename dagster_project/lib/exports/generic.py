"""A generic export for pipelines and other tools: every audience column, as CSV and Parquet.

Columns: `customer_key`, `email`, `first_name`, `last_name`, `segment`, `rfm_segment`,
`value_tier`, `lifecycle_stage`, `predicted_clv`, `probability_alive`,
`expected_next_purchase_date` (ISO date). Suppression: `customer_key`, `email`, `reason`
(`left_segment`, `no_consent`, `unsubscribed`, `erased`).
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
)


def upsert(audience: pd.DataFrame) -> pd.DataFrame:
    frame = audience.loc[:, list(COLUMNS)].copy()
    frame["predicted_clv"] = frame["predicted_clv"].round(2)
    frame["expected_next_purchase_date"] = iso_date(frame["expected_next_purchase_date"])
    return frame


def suppression(leavers: pd.DataFrame) -> pd.DataFrame:
    return leavers.loc[:, ["customer_key", "email", "reason"]].copy()


PROFILE = ExportProfile("generic", upsert, suppression, parquet=True)
