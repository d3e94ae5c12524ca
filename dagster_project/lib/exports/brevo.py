"""Brevo (formerly Sendinblue) contact import (Contacts → Import contacts → Upload a file).

Columns: `EMAIL`, `FIRSTNAME`, `LASTNAME` (Brevo's own attribute names), then attributes
`SEGMENT`, `RFM_SEGMENT`, `VALUE_TIER`, `LIFECYCLE_STAGE`, `PREDICTED_CLV`, `NEXT_ORDER_DATE`
(ISO dates; create the attributes once in Brevo). Separator `;` by default, as Brevo's templates
use (`exports.brevo_delimiter` switches to `,`). Suppression: `EMAIL` only; import it into the
blocklist.
"""

import pandas as pd

from dagster_project.lib.exports.profile import ExportProfile, iso_date, money


def upsert(audience: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "EMAIL": audience["email"],
            "FIRSTNAME": audience["first_name"],
            "LASTNAME": audience["last_name"],
            "SEGMENT": audience["segment"],
            "RFM_SEGMENT": audience["rfm_segment"],
            "VALUE_TIER": audience["value_tier"],
            "LIFECYCLE_STAGE": audience["lifecycle_stage"],
            "PREDICTED_CLV": money(audience["predicted_clv"]),
            "NEXT_ORDER_DATE": iso_date(audience["expected_next_purchase_date"]),
        }
    )


def suppression(leavers: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"EMAIL": leavers["email"]})


PROFILE = ExportProfile("brevo", upsert, suppression, delimiter=";")
