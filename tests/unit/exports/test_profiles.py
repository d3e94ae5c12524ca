"""Each tool's import columns from one audience."""

from datetime import date

import pandas as pd

from dagster_project.lib.exports import PROFILES
from dagster_project.lib.exports.profile import AUDIENCE_COLUMNS

AUDIENCE = pd.DataFrame(
    {
        "customer_key": ["k1", "k2"],
        "email": ["ana@example.com", "luis@example.com"],
        "first_name": ["Ana", "Luis"],
        "last_name": ["García", "Pérez"],
        "rfm_segment": ["Champions", "At Risk"],
        "value_tier": ["gold", None],
        "lifecycle_stage": ["active", "prospect"],
        "predicted_clv": [123.456, None],
        "probability_alive": [0.91234, None],
        "expected_next_purchase_date": [date(2025, 4, 2), None],
        "segment": ["vip", "vip"],
    }
)
LEAVERS = pd.DataFrame(
    {"customer_key": ["k3"], "email": ["old@example.com"], "reason": ["left_segment"]}
)


def test_every_profile_reads_only_audience_columns_and_keeps_every_row():
    assert set(PROFILES) == {"mailchimp", "klaviyo", "brevo", "hubspot", "generic"}
    for tool, profile in PROFILES.items():
        upsert = profile.upsert(AUDIENCE.loc[:, list(AUDIENCE_COLUMNS)])
        assert len(upsert) == 2, tool
        assert len(profile.suppression(LEAVERS)) == 1, tool


def test_mailchimp_columns_tags_and_iso_dates():
    out = PROFILES["mailchimp"].upsert(AUDIENCE)
    assert list(out.columns[:4]) == ["Email Address", "First Name", "Last Name", "Tags"]
    assert out["Tags"].tolist() == ["vip,gold,active", "vip,,prospect"]
    assert out["Next Order Date"].tolist()[0] == "2025-04-02"
    assert out["Predicted CLV"].tolist() == ["123.46", ""]


def test_klaviyo_consent_and_dates_with_a_time_part():
    out = PROFILES["klaviyo"].upsert(AUDIENCE)
    assert out["Email Marketing Consent"].unique().tolist() == ["SUBSCRIBED"]
    assert out["Expected Next Order Date"].tolist()[0] == "2025-04-02 00:00:00"
    assert PROFILES["klaviyo"].max_bytes == 50 * 1024 * 1024


def test_brevo_uses_its_attribute_names_and_semicolons():
    out = PROFILES["brevo"].upsert(AUDIENCE)
    assert list(out.columns[:3]) == ["EMAIL", "FIRSTNAME", "LASTNAME"]
    assert PROFILES["brevo"].delimiter == ";"


def test_hubspot_lifecycle_stage_and_row_limit():
    out = PROFILES["hubspot"].upsert(AUDIENCE)
    assert out["Lifecycle Stage"].tolist() == ["customer", "lead"]
    assert out["Loyalty Stage"].tolist() == ["active", "prospect"]
    assert PROFILES["hubspot"].max_rows == 250_000
    assert PROFILES["hubspot"].suppression(LEAVERS).to_dict("records") == [
        {"Email": "old@example.com", "Marketing contact status": "Unsubscribed"}
    ]
