"""Each tool's import columns from one audience."""

from datetime import date

import pandas as pd

from dagster_project.lib.exports import PROFILES, SMS_PROFILES
from dagster_project.lib.exports.build import _tool_files
from dagster_project.lib.exports.profile import AUDIENCE_COLUMNS

AUDIENCE = pd.DataFrame(
    {
        "customer_key": ["k1", "k2"],
        "email": ["ana@example.com", "luis@example.com"],
        "phone": ["+34600000001", "+34600000002"],
        "first_name": ["Ana", "Luis"],
        "last_name": ["García", "Pérez"],
        "rfm_segment": ["Champions", "At Risk"],
        "value_tier": ["gold", None],
        "lifecycle_stage": ["active", "prospect"],
        "predicted_clv": [123.456, None],
        "probability_alive": [0.91234, None],
        "expected_next_purchase_date": [date(2025, 4, 2), None],
        "recommended_category": ["Óptica", None],
        "recommended_subcategory": ["Gafas de sol", None],
        "segment": ["vip", "vip"],
    }
)
LEAVERS = pd.DataFrame(
    {"customer_key": ["k3"], "email": ["old@example.com"], "reason": ["left_segment"]}
)
SMS_LEAVERS = pd.DataFrame(
    {"customer_key": ["k3"], "phone": ["+34600000003"], "reason": ["left_segment"]}
)


def test_every_profile_reads_only_audience_columns_and_keeps_every_row():
    assert set(PROFILES) == {"mailchimp", "klaviyo", "brevo", "hubspot", "generic"}
    for tool, profile in PROFILES.items():
        upsert = profile.upsert(AUDIENCE.loc[:, list(AUDIENCE_COLUMNS)], "vip")
        assert len(upsert) == 2, tool
        assert len(profile.optout(LEAVERS)) == 1, tool
        assert len(profile.leavers(LEAVERS, "vip")) == 1, tool
    # The tools that send SMS: the same rows, named by the number, never by the address.
    assert set(SMS_PROFILES) == {"klaviyo", "brevo", "generic"}
    for tool, profile in SMS_PROFILES.items():
        upsert = profile.upsert(AUDIENCE.loc[:, list(AUDIENCE_COLUMNS)], "vip")
        assert upsert[profile.address_column].tolist() == ["+34600000001", "+34600000002"], tool
        assert not upsert.isin(["ana@example.com"]).any(axis=None), tool
        assert profile.optout(SMS_LEAVERS)[profile.address_column].tolist() == ["+34600000003"]
        assert len(profile.leavers(SMS_LEAVERS, "vip")) == 1, tool
        assert profile.channel == "sms" and PROFILES[tool].channel == "email"


def test_mailchimp_segments_on_a_merge_field_the_import_overwrites_not_on_tags():
    out = PROFILES["mailchimp"].upsert(AUDIENCE, "vip")
    assert list(out.columns[:4]) == ["Email Address", "First Name", "Last Name", "In vip"]
    assert "Tags" not in out.columns  # an import adds tags and never takes one away
    assert out["In vip"].tolist() == ["yes", "yes"]
    assert PROFILES["mailchimp"].leavers(LEAVERS, "vip")["In vip"].tolist() == ["no"]
    assert out["Next Order Date"].tolist()[0] == "2025-04-02"
    assert out["Predicted CLV"].tolist() == ["123.46", ""]


def test_klaviyo_consent_and_dates_with_a_time_part():
    out = PROFILES["klaviyo"].upsert(AUDIENCE, "vip")
    assert out["Email Marketing Consent"].unique().tolist() == ["SUBSCRIBED"]
    assert out["Expected Next Order Date"].tolist()[0] == "2025-04-02 00:00:00"
    assert PROFILES["klaviyo"].max_bytes == 50 * 1024 * 1024


def test_brevo_uses_its_attribute_names_and_semicolons():
    out = PROFILES["brevo"].upsert(AUDIENCE, "win-back")
    assert list(out.columns[:4]) == ["EMAIL", "FIRSTNAME", "LASTNAME", "IN_WIN_BACK"]
    assert PROFILES["brevo"].delimiter == ";"
    assert PROFILES["brevo"].max_bytes == 250 * 1024 * 1024


def test_hubspot_lifecycle_stage_and_row_limit():
    out = PROFILES["hubspot"].upsert(AUDIENCE, "vip")
    assert out["Lifecycle Stage"].tolist() == ["customer", "lead"]
    assert out["Loyalty Stage"].tolist() == ["active", "prospect"]
    assert PROFILES["hubspot"].max_rows == 250_000
    # An opt-out list holds addresses alone: "Marketing contact status" unsubscribes nobody.
    assert PROFILES["hubspot"].optout(LEAVERS).to_dict("records") == [{"Email": "old@example.com"}]


def _upsert_header(tool: str, with_recommendation: bool) -> str:
    profile = PROFILES[tool]
    empty = pd.DataFrame(columns=["customer_key", "email", "reason"])
    (first, *_) = _tool_files(
        profile, "s", "vip", AUDIENCE, empty, profile.delimiter, with_recommendation
    )
    return first.data.decode("utf-8").splitlines()[0]


def test_the_recommended_category_is_a_field_of_every_tool_only_when_exports_ask_for_it():
    for tool, profile in PROFILES.items():
        category, subcategory = profile.recommendation_columns
        assert {category, subcategory} <= set(_upsert_header(tool, True).split(profile.delimiter))
        assert category not in _upsert_header(tool, False), tool
        assert subcategory not in _upsert_header(tool, False), tool
        out = profile.upsert(AUDIENCE, "vip")
        assert out[category].tolist()[0] == "Óptica", tool
        assert out[subcategory].tolist()[0] == "Gafas de sol", tool
