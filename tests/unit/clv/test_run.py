"""The orchestration: what a run records, with and without transactions, and when data is thin."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.clv import RUN_COLUMNS, ClvParameters, run_clv, summarize


def test_summary_only_run_has_no_holdout_rows(cdnow):
    run = run_clv(ClvParameters(), cdnow.calibration_end, summary=cdnow.calibration_summary)
    assert [r["stage"] for r in run.runs] == ["final", "final", "final"]
    assert all(set(r) == set(RUN_COLUMNS) for r in run.runs)
    assert run.runs[0]["holdout_mae"] is None and run.plots == []
    assert np.isnan(run.scores["historic_clv"]).all()  # no total_spend column given


def test_a_tiny_shop_gets_heuristic_scores_and_says_why(tmp_path):
    tx = pd.DataFrame(
        {
            "customer_key": [1, 1, 2, 3, 3, 3, 4],
            "date": pd.to_datetime(
                [
                    "2024-01-03",
                    "2024-02-01",
                    "2024-01-20",
                    "2024-01-05",
                    "2024-02-10",
                    "2024-03-20",
                    "2024-03-28",
                ]
            ),
            "amount": [10.0, 12.0, 30.0, 5.0, 6.0, 7.0, 50.0],
        }
    )
    run = run_clv(
        ClvParameters(holdout_days=30), date(2024, 3, 31), transactions=tx, out_dir=tmp_path
    )
    by_stage = {(r["stage"], r["model"]): r for r in run.runs}
    final = by_stage[("final", "bgnbd")]
    assert final["status"] == "insufficient_data" and final["method"] == "heuristic"
    assert "repeat buyers" in final["message"]
    assert by_stage[("final", "gamma_gamma")]["status"] == "insufficient_data"
    assert by_stage[("calibration", "bgnbd")]["holdout_mae"] is not None
    assert (run.scores["method"] == "heuristic").all()
    assert run.scores["probability_alive"].between(0, 1).all()
    assert (run.scores["predicted_clv"] >= 0).all()
    assert run.scores["historic_clv"].tolist() == [22.0, 30.0, 18.0, 50.0]
    assert len(run.plots) == 2  # plots still drawn, with the actual curve only


def test_days_and_weeks_give_the_same_predictions(cdnow):
    # Fitting in days or weeks is the same model with alpha rescaled; predictions for the same
    # calendar windows must agree (a unit mistake would show up as a factor of 7).
    as_of = cdnow.calibration_end
    scores = {
        unit: run_clv(
            ClvParameters(time_unit=unit, holdout_days=0), as_of, transactions=cdnow.transactions
        )
        for unit in ("D", "W")
    }
    days, weeks = scores["D"], scores["W"]
    assert days.purchase_fit.params["alpha"] == pytest.approx(
        7 * weeks.purchase_fit.params["alpha"], rel=1e-4
    )
    for column in (
        "probability_alive",
        "expected_purchases_90d",
        "churn_probability_90d",
        "predicted_clv",
    ):
        np.testing.assert_allclose(days.scores[column], weeks.scores[column], rtol=1e-3, atol=1e-6)


def test_summary_from_sql_and_transactions_together(cdnow):
    # The pipeline passes its SQL summary for scoring and the transactions for the holdout.
    as_of = cdnow.end
    summary = summarize(cdnow.transactions, as_of, "W").drop(columns="first_purchase_date")
    run = run_clv(
        ClvParameters(holdout_days=91), as_of, transactions=cdnow.transactions, summary=summary
    )
    assert len(run.scores) == len(summary)
    assert [r["stage"] for r in run.runs] == ["calibration", "final", "final", "final"]
    assert run.runs[1]["holdout_mae"] == run.runs[0]["holdout_mae"]


def test_a_history_shorter_than_the_holdout_scores_without_plots(tmp_path):
    """A week of data and a 91-day holdout: no calibration customers, so nothing to plot."""
    tx = pd.DataFrame(
        {
            "customer_key": ["a", "a", "b"],
            "date": pd.to_datetime(["2025-03-03", "2025-03-09", "2025-03-04"]),
            "amount": [15.15, 2.25, 7.0],
        }
    )
    run = run_clv(ClvParameters(), date(2025, 3, 9), transactions=tx, out_dir=tmp_path)
    assert run.plots == [] and list(tmp_path.iterdir()) == []
    assert set(run.scores["method"]) == {"heuristic"}
    assert run.scores["probability_alive"].between(0, 1).all()
