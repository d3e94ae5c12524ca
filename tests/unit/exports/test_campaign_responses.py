"""Each customer's response to a campaign wave (lib/exports/responses.py): on hand-made lines whose
answer is known, and against the wave's campaign result on the generator's known uplift."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.exports.control import assign_control
from dagster_project.lib.exports.responses import record_responses
from dagster_project.lib.exports.results import results_for_day
from dagster_project.lib.quality import suites, validate_frame
from dagster_project.lib.synthetic.campaign import campaign_response, create_campaign_activity
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

EXPORT_DAY = date(2025, 3, 1)
WINDOW = 30
CLOSES = EXPORT_DAY + timedelta(WINDOW)


def warehouse(tmp_path, members: pd.DataFrame, lines: pd.DataFrame):
    con = connect(tmp_path / "warehouse.duckdb")
    ensure_warehouse_tables(con)
    con.register("wave", members.assign(as_of_date=EXPORT_DAY, campaign="win_back"))
    con.execute("insert into analytics.campaign_members by name select * from wave")
    con.execute("create schema if not exists marts")
    con.register("lines", lines)
    con.execute("create table marts.fct_transaction_lines as select * from lines")
    create_campaign_activity(con)
    return con


def line(customer, transaction, day, amount, *, coupon=None, prescription=False, returned=None):
    at = pd.Timestamp(EXPORT_DAY + timedelta(days=day)) + pd.Timedelta(hours=11)
    return {
        "customer_key": customer,
        "transaction_id": transaction,
        "line_id": f"{transaction}:{amount}",
        "ordered_at": at,
        "event_date": (returned or at).date(),
        "is_prescription": prescription,
        "is_sensitive": prescription,
        "margin_amount": round(amount * 0.4, 2),
        "line_amount": amount,
        "coupon_code": coupon,
    }


@pytest.fixture
def hand_made(tmp_path):
    members = pd.DataFrame(
        {
            "customer_key": ["ana", "bea", "cruz", "dani", "eva"],
            "value_tier": ["gold"] * 5,
            "is_control": [False, False, False, True, False],
        }
    )
    lines = pd.DataFrame(
        [
            # Ana: bought on day 3 with the plan's coupon (Shopify lists codes comma-separated),
            # and again on day 10.
            line("ana", "A1", 3, 40.0, coupon="summer5, vuelve15"),
            line("ana", "A2", 10, 25.0),
            # Bea: bought before the export (not a response), then only a prescription.
            line("bea", "B0", -2, 30.0),
            line("bea", "B1", 5, 12.0, prescription=True),
            # Cruz: bought on day 7 with another code.
            line("cruz", "C1", 7, 18.5, coupon="OTHER"),
            # Dani (control): bought on day 20.
            line("dani", "D1", 20, 60.0),
            # Eva: bought on day 40, after the window closed.
            line("eva", "E1", 40, 99.0),
        ]
    )
    con = warehouse(tmp_path, members, lines)
    yield con
    con.close()


def responses(con) -> pd.DataFrame:
    return (
        con.execute("select * from analytics.customer_campaign_responses order by customer_key")
        .df()
        .set_index("customer_key")
    )


def test_each_members_response_is_what_their_lines_say(hand_made):
    written = record_responses(hand_made, {"win_back": ["VUELVE15"]}, CLOSES, WINDOW)
    assert written == 5
    got = responses(hand_made)
    assert list(got.has_responded) == [True, False, True, True, False]
    assert list(got.used_coupon) == [True, False, False, False, False]
    assert list(got.orders) == [2, 0, 1, 1, 0]
    assert list(got.revenue) == pytest.approx([65.0, 0.0, 18.5, 60.0, 0.0])
    assert got.loc["ana", "days_to_respond"] == 3 and got.loc["dani", "days_to_respond"] == 20
    assert pd.isna(got.loc["bea", "days_to_respond"])
    assert list(got.is_control) == [False, False, False, True, False]
    assert got.is_complete.all() and (got.window_end_date.dt.date == CLOSES).all()


def test_what_the_tools_reported_says_who_was_sent_reached_opened(hand_made):
    """Mailchimp's way (sent, then a bounce or an open) and Klaviyo's (a delivery event); an
    event of the campaign's next wave, of another campaign or after the window is not this
    wave's."""
    at = pd.Timestamp(EXPORT_DAY) + pd.Timedelta(hours=9)
    day = pd.Timedelta(days=1)
    activity = pd.DataFrame(
        [
            ("ana", "win_back", "sent", at),
            ("ana", "win_back", "opened", at + 3 * day),
            ("ana", "win_back", "clicked", at + 3 * day),
            ("bea", "win_back", "sent", at),
            ("bea", "win_back", "bounced", at),
            ("cruz", "win_back", "delivered", at),
            ("eva", "other_campaign", "delivered", at),
            ("eva", "win_back", "opened", at + 40 * day),
        ],
        columns=["customer_key", "campaign", "event_type", "occurred_at"],
    ).assign(source_tool="mailchimp")
    activity["occurred_date"] = activity.occurred_at.dt.date
    create_campaign_activity(hand_made, activity)
    record_responses(hand_made, {"win_back": []}, CLOSES, WINDOW)
    got = responses(hand_made)
    assert list(got.was_sent) == [True, True, True, False, False]
    assert list(got.was_delivered) == [True, False, True, False, False]
    assert list(got.has_opened) == [True, False, False, False, False]
    assert list(got.has_clicked) == [True, False, False, False, False]
    assert list(got.has_bounced) == [False, True, False, False, False]

    # A second wave exported on day 2: from then on the campaign's events are the new wave's.
    hand_made.execute(
        "insert into analytics.campaign_members by name select * replace "
        "(as_of_date + 2 as as_of_date) from analytics.campaign_members"
    )
    hand_made.execute("delete from analytics.customer_campaign_responses")
    record_responses(hand_made, {"win_back": []}, CLOSES, WINDOW)
    both = responses(hand_made)
    first = both[both.export_date.dt.date == EXPORT_DAY]
    second = both[both.export_date.dt.date == EXPORT_DAY + timedelta(days=2)]
    # Ana's open on day 3 is the second wave's; the first still reached her.
    assert list(first.has_opened) == [False] * 5
    assert list(first.was_delivered) == [True, False, True, False, False]
    assert list(second.has_opened) == [True, False, False, False, False]


def test_with_nothing_reported_on_a_wave_delivery_is_unknown(hand_made):
    record_responses(hand_made, {"win_back": []}, CLOSES, WINDOW)
    got = responses(hand_made)
    for column in ("was_sent", "was_delivered", "has_opened", "has_clicked", "has_bounced"):
        assert got[column].isna().all(), column


def test_a_segment_no_plan_gives_a_coupon_has_no_coupon_answer(hand_made):
    record_responses(hand_made, {"win_back": []}, CLOSES, WINDOW)
    assert responses(hand_made).used_coupon.isna().all()


def test_a_wave_is_measured_while_its_window_is_open_and_kept_once_final(hand_made):
    coupons = {"win_back": ["VUELVE15"]}
    record_responses(hand_made, coupons, EXPORT_DAY + timedelta(days=5), WINDOW)
    early = responses(hand_made)
    assert list(early.has_responded) == [True, False, False, False, False]
    assert not early.is_complete.any()
    record_responses(hand_made, coupons, CLOSES, WINDOW)
    # A backfill of an earlier day does not undo the final measurement; one row per member.
    assert record_responses(hand_made, coupons, EXPORT_DAY + timedelta(days=5), WINDOW) == 0
    final = responses(hand_made)
    assert len(final) == 5 and final.is_complete.all()
    assert list(final.has_responded) == [True, False, True, True, False]
    # Not before the export day's end, nor after the window closed.
    assert record_responses(hand_made, coupons, EXPORT_DAY, WINDOW) == 0
    assert record_responses(hand_made, coupons, CLOSES + timedelta(days=1), WINDOW) == 0


def test_a_window_that_closed_between_two_days_computed_is_measured_to_its_end(hand_made):
    """Month-end days: the wave closed on CLOSES, and the next day computed comes later. Its
    responses are then final, measured up to the window's end: Eva's purchase on day 40 is no
    response."""
    later = CLOSES + timedelta(days=20)
    assert record_responses(hand_made, {"win_back": ["VUELVE15"]}, later, WINDOW) == 5
    got = responses(hand_made)
    assert got.is_complete.all() and (got.as_of_date.dt.date == later).all()
    assert list(got.has_responded) == [True, False, True, True, False]
    assert (got.window_end_date.dt.date == CLOSES).all()
    assert (
        record_responses(hand_made, {"win_back": ["VUELVE15"]}, later + timedelta(30), WINDOW) == 0
    )


def test_responses_add_up_to_the_waves_campaign_result(tmp_path):
    """Two computations of one wave: the per-customer rows summed give the result's groups."""
    rng = np.random.default_rng(5)
    members = pd.DataFrame(
        {
            "customer_key": [f"ck{i:05d}" for i in range(5_000)],
            "value_tier": rng.choice(["gold", "silver", "bronze", "wood"], 5_000),
        }
    )
    members["is_control"] = assign_control(members, "win_back", 0.2, "test-key")
    lines = campaign_response(
        members, EXPORT_DAY, WINDOW, base_rate=0.2, uplift=0.05, mean_spend=40.0
    )
    con = warehouse(tmp_path, members, lines)
    record_responses(con, {"win_back": []}, CLOSES, WINDOW)
    (result,) = results_for_day(con, ["win_back"], CLOSES, WINDOW)
    got = responses(con)
    treated, control = got[~got.is_control], got[got.is_control]
    assert (len(treated), len(control)) == (result["treated"], result["control"])
    assert treated.has_responded.sum() == result["treated_buyers"]
    assert control.has_responded.sum() == result["control_buyers"]
    assert treated.revenue.sum() / len(treated) == pytest.approx(result["treated_revenue_per_head"])
    # The suite passes real rows and catches a response counted before the export.
    suite = suites()["customer_campaign_responses"]
    frame = got.reset_index()
    assert [o.name for o in validate_frame(frame, suite) if not o.success] == []
    broken = frame.assign(days_to_respond=frame.days_to_respond.fillna(0) - 40)
    assert any(not o.success for o in validate_frame(broken, suite))
    con.close()
