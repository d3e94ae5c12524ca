"""An event log without amounts (the grocery data: customer and date only) gets purchase scores
and says plainly that there is no spend model."""

from __future__ import annotations

import pytest

from dagster_project.lib.clv import ClvParameters, run_clv


@pytest.fixture(scope="module")
def grocery_run(grocery_transactions, tmp_path_factory):
    as_of = grocery_transactions["date"].max().date()
    return run_clv(
        ClvParameters(model="bgnbd", time_unit="W", holdout_days=91),
        as_of,
        transactions=grocery_transactions,
        out_dir=tmp_path_factory.mktemp("grocery_plots"),
    )


def test_purchase_model_fits_without_amounts(grocery_run, grocery_transactions):
    purchases = next(r for r in grocery_run.runs if r["stage"] == "final" and r["model"] == "bgnbd")
    assert purchases["status"] == "ok" and purchases["converged"]
    assert purchases["customers"] == grocery_transactions["customer_key"].nunique()
    assert purchases["holdout_mae"] is not None and purchases["holdout_mae"] > 0
    scores = grocery_run.scores
    assert (scores["method"] == "model").all()
    assert scores["probability_alive"].between(0, 1).all()
    assert (scores["expected_purchases_365d"] > 0).all()
    assert len(grocery_run.plots) == 2


def test_spend_says_no_spend_data_and_money_columns_stay_empty(grocery_run):
    spend = next(r for r in grocery_run.runs if r["model"] == "gamma_gamma")
    assert spend["status"] == "no_spend_data"
    assert spend["method"] == "none"
    assert "no purchase amounts" in spend["message"]
    scores = grocery_run.scores
    assert (scores["spend_method"] == "none").all()
    for column in ("predicted_spend_per_purchase", "predicted_clv", "historic_clv"):
        assert scores[column].isna().all(), column
