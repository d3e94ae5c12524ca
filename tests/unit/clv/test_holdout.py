"""Holdout validation against counts made independently of our code (lifetimes' own
calibration/holdout split, and plain pandas)."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from lifetimes import BetaGeoFitter
from lifetimes.utils import calibration_and_holdout_data

from dagster_project.lib.clv import ClvParameters, evaluate_holdout, run_clv, select_model, split

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def cdnow_check(cdnow):
    params = ClvParameters(time_unit="W", holdout_days=(cdnow.end - cdnow.calibration_end).days)
    return params, evaluate_holdout(cdnow.transactions, cdnow.end, params, "bgnbd")


def test_metrics_match_lifetimes_split_and_prediction(cdnow, cdnow_check):
    _, check = cdnow_check
    days = cdnow.transactions.groupby(["customer_key", "date"], as_index=False)["amount"].sum()
    reference = calibration_and_holdout_data(
        days,
        "customer_key",
        "date",
        monetary_value_col="amount",  # without one, lifetimes' holdout count fails on pandas 3
        calibration_period_end=cdnow.calibration_end.isoformat(),
        observation_period_end=cdnow.end.isoformat(),
        freq="D",
        freq_multiplier=7,
    )
    fitter = BetaGeoFitter().fit(
        reference["frequency_cal"], reference["recency_cal"], reference["T_cal"]
    )
    predicted = fitter.predict(
        reference["duration_holdout"].iloc[0],
        reference["frequency_cal"],
        reference["recency_cal"],
        reference["T_cal"],
    )
    actual = reference["frequency_holdout"]
    error = predicted - actual
    assert check.customers == len(reference) == 2357
    assert check.actual_total == actual.sum()
    assert check.mae == pytest.approx(error.abs().mean(), rel=1e-6)
    assert check.rmse == pytest.approx(np.sqrt((error**2).mean()), rel=1e-6)
    assert check.total_pct_error == pytest.approx(100 * error.sum() / actual.sum(), rel=1e-6)
    mine = check.per_customer.set_index("customer_key")["actual"]
    assert mine.equals(actual.reindex(mine.index).astype(float))


def test_calibration_plot_data_averages_the_per_customer_numbers(cdnow_check):
    _, check = cdnow_check
    table = check.calibration_vs_holdout
    assert table["customers"].sum() == check.customers
    assert table["frequency_bucket"].tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    zero = check.per_customer.query("frequency == 0")
    assert table.loc[0, "actual_mean"] == pytest.approx(zero["actual"].mean())
    assert table.loc[0, "predicted_mean"] == pytest.approx(zero["predicted"].mean())
    weighted = (table["actual_mean"] * table["customers"]).sum()
    assert weighted == pytest.approx(check.actual_total)


def test_tracking_counts_every_repeat_purchase(cdnow, cdnow_check):
    _, check = cdnow_check
    days = cdnow.transactions.drop_duplicates(["customer_key", "date"])
    repeats = len(days) - days["customer_key"].nunique()  # all first-buyers are in calibration
    tracking = check.tracking
    assert tracking["actual"].iloc[-1] == repeats
    assert tracking["actual"].is_monotonic_increasing
    assert tracking["date"].iloc[-1] == pd.Timestamp(cdnow.end)
    # The expected curve ends within 10 % of the actual one (the published fit tracks it closely).
    assert tracking["expected"].iloc[-1] == pytest.approx(repeats, rel=0.10)
    at_calibration_end = tracking.set_index("date").loc[pd.Timestamp(cdnow.calibration_end)]
    assert at_calibration_end["actual"] == pytest.approx(at_calibration_end["expected"], rel=0.05)


def test_split_boundaries_and_who_is_judged():
    as_of = date(2024, 3, 31)
    cal_end = as_of - timedelta(days=30)
    tx = pd.DataFrame(
        {
            "customer_key": ["a", "a", "a", "a", "a", "b", "c", "c"],
            "date": [
                date(2024, 1, 1),
                cal_end,  # last calibration day: calibration
                cal_end + timedelta(days=1),  # first holdout day
                as_of,  # the as-of day belongs to the holdout
                as_of + timedelta(days=1),  # after the as-of date: unknown yet
                date(2024, 1, 5),
                cal_end + timedelta(days=3),  # c's first purchase is in the holdout
                cal_end + timedelta(days=4),
            ],
            "amount": [1.0] * 8,
        }
    )
    tx = pd.concat([tx, tx.iloc[[2]]])  # the same day twice: one purchase
    calibration, holdout, end = split(tx, as_of, 30)
    assert end == cal_end
    assert calibration.groupby("customer_key").size().to_dict() == {"a": 2, "b": 1}
    assert holdout.groupby("customer_key").size().to_dict() == {"a": 2, "c": 2}
    params = ClvParameters(time_unit="D", holdout_days=30)
    check = evaluate_holdout(tx, as_of, params, "bgnbd")
    assert check.method == "heuristic"  # three customers cannot support a model
    assert check.per_customer.set_index("customer_key")["actual"].to_dict() == {"a": 2.0, "b": 0.0}
    assert check.actual_total == 2.0


def test_auto_picks_the_lowest_holdout_mae_and_records_every_candidate(cdnow, tmp_path):
    params = ClvParameters(model="auto", holdout_days=(cdnow.end - cdnow.calibration_end).days)
    run = run_clv(params, cdnow.end, transactions=cdnow.transactions, out_dir=tmp_path)
    calibration = [r for r in run.runs if r["stage"] == "calibration"]
    assert sorted(r["model"] for r in calibration) == ["bgnbd", "mbgnbd", "pareto_nbd"]
    best = min(calibration, key=lambda r: r["holdout_mae"])
    assert run.model == best["model"] == select_model(list(run.holdout.values()))
    final = [r for r in run.runs if r["stage"] == "final"]
    assert [r["model"] for r in final] == [run.model, "gamma_gamma", "gamma_gamma_margin"]
    assert final[2]["status"] == "no_spend_data"  # CDNOW has no margins
    assert final[0]["holdout_mae"] == best["holdout_mae"]
    assert all(r["selection_metric"] == "mae" for r in run.runs)
    assert (run.scores["model"] == run.model).all()
    assert len(run.plots) == 2
    for path in run.plots:
        assert path.parent == tmp_path and path.read_bytes()[:8] == PNG_MAGIC
    frame = run.runs_frame()
    assert len(frame) == 6 and frame["parameters"].str.startswith("{").all()
