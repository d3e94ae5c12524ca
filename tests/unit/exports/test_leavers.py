"""Who stops getting a segment's mail, and how each tool is told: opt-outs (withdrawals,
unsubscribes, erasures) to its global opt-out file, leavers of the segment to a removal from that
segment only."""

import io
from datetime import date

import pandas as pd
import pytest

from dagster_project.lib.exports import PROFILES, SMS_PROFILES
from dagster_project.lib.exports.build import _tool_files, contactability, suppressed_people
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

BEFORE, TODAY = date(2025, 3, 30), date(2025, 3, 31)
PHONES = {
    name: f"+3460000000{i}" for i, name in enumerate(["ana", "bea", "cruz", "dani", "eva", "gil"])
}


@pytest.fixture
def con(tmp_path):
    connection = connect(tmp_path / "warehouse.duckdb")
    ensure_warehouse_tables(connection)
    connection.execute(
        "create table pii.customer_contactability (as_of_date date, customer_key varchar, "
        "email_normalized varchar, is_contactable boolean, not_contactable_reason varchar, "
        "phone_e164 varchar, is_sms_contactable boolean, not_sms_contactable_reason varchar)"
    )
    # The same story by email and by SMS (each person's number is "+3460000000" + a digit).
    rows = [
        # before: everyone contactable
        (BEFORE, "ana", "ana@example.com", True, None),
        (BEFORE, "bea", "bea@example.com", True, None),
        (BEFORE, "cruz", "cruz@example.com", True, None),
        (BEFORE, "dani", "dani@example.com", True, None),
        (BEFORE, "eva", "eva@example.com", True, None),
        (BEFORE, "gil", "gil@example.com", False, "no_consent"),
        # today: Bea withdrew, Dani (never in the segment) was erased, Gil still without consent
        (TODAY, "ana", "ana@example.com", True, None),
        (TODAY, "bea", "bea@example.com", False, "no_consent"),
        (TODAY, "cruz", "cruz@example.com", True, None),
        (TODAY, "dani", None, False, "erased"),
        (TODAY, "eva", "eva@example.com", True, None),
        (TODAY, "gil", "gil@example.com", False, "no_consent"),
    ]
    sms_reason = {"no_consent": "no_sms_consent", "erased": "erased", None: None}
    rows = [(*row, PHONES[row[1]] if row[2] else None, row[3], sms_reason[row[4]]) for row in rows]
    connection.executemany(
        "insert into pii.customer_contactability values (?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    members = pd.DataFrame(
        {
            "as_of_date": BEFORE,
            "campaign": "vip",
            "customer_key": ["ana", "bea", "cruz", "eva"],
            "value_tier": "gold",
            "is_control": [False, False, False, True],
        }
    )
    connection.register("members", members)
    connection.execute("insert into analytics.campaign_members by name select * from members")
    yield connection
    connection.close()


def test_leavers_withdrawals_and_erasures_are_suppressed_with_their_reason(con):
    today = contactability(con, TODAY)
    # Today only Ana is treated: Cruz left the segment; Eva was held out, so never sent.
    leavers = suppressed_people(con, "vip", BEFORE, {"ana"}, today)
    assert sorted(leavers.itertuples(index=False, name=None)) == [
        ("bea", "bea@example.com", "no_consent"),
        ("cruz", "cruz@example.com", "left_segment"),
        ("dani", "dani@example.com", "erased"),
    ]


def test_a_first_export_suppresses_nobody(con):
    assert suppressed_people(con, "vip", None, {"ana"}, contactability(con, TODAY)).empty


def test_the_suppression_rows_come_in_key_order_whatever_order_the_table_has(con):
    # The same people written in the opposite order (another engine, another thread count).
    con.execute(
        "create or replace table pii.customer_contactability as "
        "select * from pii.customer_contactability order by customer_key desc"
    )
    today = contactability(con, TODAY)
    leavers = suppressed_people(con, "vip", BEFORE, {"ana"}, today)
    assert list(leavers["customer_key"]) == sorted(leavers["customer_key"])
    assert len(leavers) >= 2


@pytest.mark.parametrize("tool", sorted(PROFILES))
def test_a_leaver_is_in_no_global_opt_out_file_and_every_opt_out_is(con, tool):
    today = contactability(con, TODAY)
    stopped = suppressed_people(con, "vip", BEFORE, {"ana"}, today)
    profile = PROFILES[tool]
    delimiter = profile.delimiter
    files = {
        f.kind: f
        for f in _tool_files(profile, "stem", "vip", AUDIENCE_OF_ANA, stopped, delimiter, True)
        if f.name.endswith(".csv")
    }
    optout = read(files["optout"].data, delimiter)
    leavers = read(files["leavers"].data, delimiter)
    email = OPTOUT_SHAPE[tool][0] if tool != "generic" else "email"
    # Bea withdrew consent and Dani was erased: the tool's global opt-out, in its own shape...
    assert sorted(optout[email]) == ["bea@example.com", "dani@example.com"]
    assert list(optout.columns) == OPTOUT_SHAPE[tool]
    # ...while Cruz only left the segment: its membership field turns off, nothing global.
    assert leavers[email].tolist() == ["cruz@example.com"]
    assert "cruz@example.com" not in set(optout[email])
    membership = [c for c in leavers.columns if c not in ("customer_key", "reason", email)]
    assert len(membership) == 1, leavers.columns
    assert leavers[membership[0]].tolist() == [LEFT_VALUE[tool]]


@pytest.mark.parametrize("tool", sorted(SMS_PROFILES))
def test_an_sms_segment_suppresses_by_number_with_the_sms_reasons(con, tool):
    today = contactability(con, TODAY, "sms")
    stopped = suppressed_people(con, "vip", BEFORE, {"ana"}, today, "sms")
    assert sorted(stopped.itertuples(index=False, name=None)) == [
        ("bea", PHONES["bea"], "no_sms_consent"),
        ("cruz", PHONES["cruz"], "left_segment"),
        ("dani", PHONES["dani"], "erased"),
    ]
    profile = SMS_PROFILES[tool]
    files = {
        f.kind: f
        for f in _tool_files(profile, "stem", "vip", AUDIENCE_OF_ANA, stopped, ";", True)
        if f.name.endswith(".csv")
    }
    column = profile.address_column
    upsert = read(files["upsert"].data, ";")
    # The number keeps its plus (a valid E.164 number is not a formula) and no address is sent.
    assert upsert[column].tolist() == [PHONES["ana"]]
    assert "ana@example.com" not in files["upsert"].data.decode()
    assert sorted(read(files["optout"].data, ";")[column]) == [PHONES["bea"], PHONES["dani"]]
    assert read(files["leavers"].data, ";")[column].tolist() == [PHONES["cruz"]]


AUDIENCE_OF_ANA = pd.DataFrame(
    [
        {
            "customer_key": "ana",
            "email": "ana@example.com",
            "phone": "+34600000000",
            "first_name": "Ana",
            "last_name": "García",
            "rfm_segment": "Champions",
            "value_tier": "gold",
            "lifecycle_stage": "active",
            "predicted_clv": 12.5,
            "probability_alive": 0.9,
            "expected_next_purchase_date": date(2025, 4, 20),
            "recommended_category": "Bebé",
            "recommended_subcategory": "Pañales",
            "segment": "vip",
        }
    ]
)
# Each tool's own global opt-out import: the address alone (the generic file adds key and reason).
OPTOUT_SHAPE = {
    "mailchimp": ["Email Address"],
    "klaviyo": ["Email"],
    "brevo": ["EMAIL"],
    "hubspot": ["Email"],
    "generic": ["customer_key", "email", "reason"],
}
LEFT_VALUE = {"mailchimp": "no", "klaviyo": "false", "brevo": "false", "hubspot": "false"}
LEFT_VALUE["generic"] = "vip"  # the generic leavers file names the segment they left


def read(data: bytes, delimiter: str) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), sep=delimiter, dtype=str, keep_default_na=False)
