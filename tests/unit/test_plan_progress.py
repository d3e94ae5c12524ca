"""Plan progress (lib/plans.py) on a warehouse whose answers are known: a win-back segment of
5,000 people exported once, the generator giving the treated a known uplift; the plan's lift
interval must hold it, its metric equal a pandas count on the same lines, and on/off track follow
the line from baseline to target."""

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from segment_tables import create_segment_tables

from dagster_project.config import settings_from_dict
from dagster_project.defs.plans.assets import off_track_line, plan_targets
from dagster_project.lib.exports.control import assign_control
from dagster_project.lib.exports.results import results_for_day
from dagster_project.lib.plans import plan_progress
from dagster_project.lib.quality import suites, validate_frame
from dagster_project.lib.synthetic.campaign import campaign_response, create_campaign_activity
from dagster_project.lib.tables import CAMPAIGN_RESULTS
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables, replace_rows

BASELINE = date(2025, 3, 1)  # the export day, and the plans' baseline
WINDOW = 30
CLOSES = BASELINE + timedelta(WINDOW)
PEOPLE = 5_000
BASE_RATE, UPLIFT, MEAN_SPEND = 0.2, 0.05, 40.0


def plan(**objective) -> dict:
    return {
        "targets": {"segment": "win_back"},
        "objective": {
            "metric": "reactivated",
            "target": 2000,
            "baseline_date": BASELINE.isoformat(),
            "due_date": (BASELINE + timedelta(days=60)).isoformat(),
            **objective,
        },
        "owner": "CRM",
        "budget": {"total": 1000, "per_contact": 0.05},
        "period": {"start": BASELINE.isoformat(), "end": "2025-06-30"},
        "actions": [{"kind": "communication", "description": "We miss you"}],
    }


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plans")
    con = connect(folder / "warehouse.duckdb")
    ensure_warehouse_tables(con)
    rng = np.random.default_rng(11)
    keys = [f"ck{i:05d}" for i in range(PEOPLE)]
    # The segment base of two days: every one at risk on the baseline day; on the closing day,
    # whoever bought is active again (the base also holds 300 others, never in the segment).
    others = [f"ot{i:05d}" for i in range(300)]
    history = pd.DataFrame(
        {
            "as_of_date": [BASELINE] * (PEOPLE + 300),
            "customer_key": keys + others,
            "rfm_segment": "At Risk",
            "value_tier": rng.choice(["gold", "silver", "bronze", "wood"], PEOPLE + 300),
            "lifecycle_stage": ["at_risk"] * PEOPLE + ["active"] * 300,
            "predicted_clv": 50.0,
            "probability_alive": 0.5,
        }
    )
    members = history.iloc[:PEOPLE][["customer_key", "value_tier"]].copy()
    members["is_control"] = assign_control(members, "win_back", 0.2, "test-key")
    lines = campaign_response(
        members, BASELINE, WINDOW, base_rate=BASE_RATE, uplift=UPLIFT, mean_spend=MEAN_SPEND
    )
    in_window = lines[(lines.order_date > BASELINE) & (lines.order_date <= CLOSES)]
    bought = set(in_window.customer_key)
    later = history.assign(as_of_date=CLOSES)
    later.loc[later.customer_key.isin(bought), "lifecycle_stage"] = "active"
    history = pd.concat([history, later], ignore_index=True)
    con.register("history", history)
    con.execute("create table analytics.customer_segment_history as select * from history")
    create_segment_tables(con, "history", "null", skip=("clv",))
    con.execute(
        "create table analytics.customer_lifecycle as "
        "select as_of_date, customer_key, lifecycle_stage from history"
    )
    con.execute(
        "create table analytics.kpi_daily as select as_of_date, count(*) as customers "
        "from history group by as_of_date"
    )
    con.register("wave", members.assign(as_of_date=BASELINE, campaign="win_back"))
    con.execute("insert into analytics.campaign_members by name select * from wave")
    con.execute("create schema if not exists marts")
    con.register("lines", lines)
    con.execute("create table marts.fct_transaction_lines as select * from lines")
    create_campaign_activity(con)
    (result,) = results_for_day(con, ["win_back"], CLOSES, WINDOW)
    replace_rows(con, CAMPAIGN_RESULTS, pd.DataFrame([result]), {"as_of_date": CLOSES})
    yield con, members, in_window, lines
    con.close()


def progress(con, name: str, settings_plan: dict, day: date) -> dict:
    settings = settings_from_dict(
        {
            "exports": {"segments": {"win_back": {"lifecycle_stage": ["at_risk"]}}},
            "plans": {name: settings_plan},
        },
        Path("/x/loyalty.yml"),
    )
    return plan_progress(con, name, settings.plans[name], plan_targets(settings)[name], day)


def test_the_lift_against_control_holds_the_known_uplift_and_the_metric_counts_the_lines(world):
    con, members, in_window, _ = world
    row = progress(con, "win_back_plan", plan(), CLOSES)
    treated = int((~members.is_control).sum())
    # The metric: how many of the baseline audience bought after the baseline day (pandas).
    assert row["actual_value"] == in_window.customer_key.nunique()
    assert row["contacted"] == treated
    assert row["spend"] == pytest.approx(min(1000, 0.05 * treated))
    expected_revenue = UPLIFT * MEAN_SPEND * treated
    assert row["incremental_revenue_low"] <= expected_revenue <= row["incremental_revenue_high"]
    assert row["incremental_buyers"] == pytest.approx(UPLIFT * treated, rel=0.5)
    assert row["roi"] == pytest.approx((row["incremental_revenue"] - row["spend"]) / row["spend"])
    assert row["cost_per_incremental_customer"] == pytest.approx(
        row["spend"] / row["incremental_buyers"]
    )
    assert row["roi_measure"] == "revenue"


def _results_again(con) -> None:
    (result,) = results_for_day(con, ["win_back"], CLOSES, WINDOW)
    replace_rows(con, CAMPAIGN_RESULTS, pd.DataFrame([result]), {"as_of_date": CLOSES})


def test_the_return_is_on_margin_when_every_purchase_has_one(world):
    """The catalogue gives margins: the plan's return is on the incremental gross margin, which
    the control group measures like the revenue (half of it here)."""
    con, _, _, _ = world
    try:
        con.execute(
            "update marts.fct_transaction_lines set margin_amount = round(line_amount * 0.5, 2)"
        )
        _results_again(con)
        row = progress(con, "win_back_plan", plan(), CLOSES)
        assert row["roi_measure"] == "margin"
        assert row["incremental_margin"] == pytest.approx(row["incremental_revenue"] / 2, rel=1e-3)
        assert row["roi"] == pytest.approx(
            (row["incremental_margin"] - row["spend"]) / row["spend"]
        )
        # One purchase without a margin, and the margin is unknown: back to revenue.
        con.execute(
            "update marts.fct_transaction_lines set margin_amount = null "
            "where line_id = (select min(line_id) from marts.fct_transaction_lines "
            f"where order_date > date '{BASELINE}' and order_date <= date '{CLOSES}')"
        )
        _results_again(con)
        again = progress(con, "win_back_plan", plan(), CLOSES)
        assert again["roi_measure"] == "revenue" and again["incremental_margin"] is None
    finally:
        con.execute("update marts.fct_transaction_lines set margin_amount = null")
        _results_again(con)


def test_on_track_follows_the_line_from_baseline_to_target(world):
    con, _, in_window, _ = world
    came_back = in_window.customer_key.nunique()
    # Half-way to the due date the line is at half the target: a target of twice what came back
    # by then is just met; a larger one is not.
    met = progress(con, "met", plan(target=2 * came_back), CLOSES)
    assert met["expected_value"] == pytest.approx(came_back)
    assert met["is_on_track"] is True
    missed = progress(con, "missed", plan(target=3 * came_back), CLOSES)
    assert missed["is_on_track"] is False
    assert missed["gap"] == pytest.approx(came_back - 1.5 * came_back)
    line = off_track_line(missed)
    assert line.startswith(f"missed: reactivated at {came_back:,.2f}, ")
    assert "below where it should be" in line and f"by {BASELINE + timedelta(days=60)}" in line


def test_level_metrics_are_measured_on_the_day_and_a_day_not_computed_is_no_verdict(world):
    con, _, in_window, _ = world
    customers = progress(con, "grow", plan(metric="customers", target=PEOPLE - 1000), CLOSES)
    # Those still at risk on the closing day: everyone who did not come back.
    assert customers["baseline_value"] == PEOPLE
    assert customers["actual_value"] == PEOPLE - in_window.customer_key.nunique()
    assert customers["is_on_track"] is (customers["actual_value"] <= customers["expected_value"])
    retained = progress(con, "keep", plan(metric="retained_share", target=0.5), CLOSES)
    assert retained["actual_value"] == pytest.approx(in_window.customer_key.nunique() / PEOPLE)
    kpi = progress(con, "kpi", plan(metric="kpi_daily.customers", target=6000), CLOSES)
    assert kpi["actual_value"] == PEOPLE + 300
    unknown = progress(con, "grow", plan(metric="customers", target=1), CLOSES + timedelta(1))
    assert unknown["actual_value"] is None and unknown["is_on_track"] is None


def test_revenue_counts_the_baseline_audiences_purchases_from_the_periods_start(world):
    con, _, _, lines = world
    # The period starts on the baseline (export) day: its own orders count, as do the window's.
    period = lines[(lines.order_date >= BASELINE) & (lines.order_date <= CLOSES)]
    row = progress(con, "rev", plan(metric="revenue", target=100_000), CLOSES)
    assert row["actual_value"] == pytest.approx(period.line_amount.sum())
    orders = progress(con, "ord", plan(metric="orders", target=10_000), CLOSES)
    assert orders["actual_value"] == len(period)
    aov = progress(con, "aov", plan(metric="average_order_value", target=50), CLOSES)
    assert aov["actual_value"] == pytest.approx(period.line_amount.mean())


def test_the_plan_progress_suite_passes_real_rows_and_catches_a_broken_interval(world):
    con, _, in_window, _ = world
    came_back = in_window.customer_key.nunique()
    rows = pd.DataFrame(
        [
            progress(con, name, plan(target=target), CLOSES)
            for name, target in (("met", 2 * came_back), ("missed", 3 * came_back))
        ]
    )
    suite = suites()["plan_progress"]
    assert [o.name for o in validate_frame(rows, suite) if not o.success] == []
    broken = rows.assign(incremental_revenue_low=rows.incremental_revenue_high + 1)
    assert any(not o.success for o in validate_frame(broken, suite))
