"""HubSpot contact import (Contacts → Import → File from computer → One file, one object).

Columns: `Email`, `First Name`, `Last Name`, `Lifecycle Stage` (HubSpot's own property: `lead`
for a card member with no purchase yet, `customer` for everyone who bought), then custom
properties `Loyalty Segment`, `RFM Segment`, `Value Tier`, `Loyalty Stage` (our lifecycle stage),
`Predicted CLV`, `Next Order Date` (ISO dates). Files over 250,000 rows are split into numbered
parts. Suppression: `Email` and `Marketing contact status` = `Unsubscribed`.
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, iso_date, money

MAX_ROWS = 250_000


def upsert(audience: pd.DataFrame) -> pd.DataFrame:
    stage = audience["lifecycle_stage"]
    return pd.DataFrame(
        {
            "Email": audience["email"],
            "First Name": audience["first_name"],
            "Last Name": audience["last_name"],
            "Lifecycle Stage": stage.map(lambda s: "lead" if s == "prospect" else "customer"),
            "Loyalty Segment": audience["segment"],
            "RFM Segment": audience["rfm_segment"],
            "Value Tier": audience["value_tier"],
            "Loyalty Stage": stage,
            "Predicted CLV": money(audience["predicted_clv"]),
            "Next Order Date": iso_date(audience["expected_next_purchase_date"]),
        }
    )


def suppression(leavers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"Email": leavers["email"], "Marketing contact status": "Unsubscribed"})


PROFILE = ExportProfile("hubspot", upsert, suppression, max_rows=MAX_ROWS)
