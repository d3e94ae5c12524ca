"""The CDNOW sample against the published estimates.

BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way", Marketing Science
24(2): r 0.243, alpha 4.414, a 0.793, b 2.426, LL -9582.4. Pareto/NBD on the same data: Fader &
Hardie (2005), "A note on implementing the Pareto/NBD model in MATLAB": r 0.55, alpha 10.58,
s 0.61, beta 11.67, LL -9595.0. Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma model of
monetary value": p 6.25, q 3.74, gamma 15.44 on the 946 repeat buyers, frequency-spend
correlation 0.11. All fitted on weeks 1-39 (1997-01-01 to 1997-09-30), weeks = days / 7.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter, ModifiedBetaGeoFitter

from dagster_project.lib.clv import (
    ClvParameters,
    compress,
    fit_purchase_model,
    fit_spend_model,
    run_clv,
)

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO = {"r": 0.55, "alpha": 10.58, "s": 0.61, "beta": 11.67}
GAMMA_GAMMA = {"p": 6.25, "q": 3.74, "v": 15.44}
TWO_DECIMALS = 0.005


def test_the_pipeline_step_recovers_published_bgnbd_and_gamma_gamma(cdnow):
    # The whole CLV step from raw transactions (same-day purchases merged by our summary), as of
    # the end of the papers' calibration period.
    run = run_clv(
        ClvParameters(model="bgnbd", time_unit="W", holdout_days=0),
        cdnow.calibration_end,
        transactions=cdnow.transactions,
    )
    purchases, spend, margin = (r for r in run.runs if r["stage"] == "final")
    assert margin["model"] == "gamma_gamma_margin" and margin["status"] == "no_spend_data"
    assert json.loads(purchases["parameters"]) == pytest.approx(BGNBD, abs=TWO_DECIMALS)
    assert purchases["log_likelihood"] == pytest.approx(-9582.4, abs=0.05)
    assert purchases["customers"] == 2357
    assert purchases["converged"] and purchases["penalizer"] == 0.0
    assert json.loads(spend["parameters"]) == pytest.approx(GAMMA_GAMMA, abs=TWO_DECIMALS)
    assert spend["customers"] == 946
    assert spend["frequency_spend_correlation"] == pytest.approx(0.11, abs=TWO_DECIMALS)
    assert len(run.scores) == 2357


def test_holdout_calibration_fit_is_the_published_one(cdnow, tmp_path):
    # As of the end of the data with a 39-week holdout, the calibration fit is the papers' fit.
    holdout_days = (cdnow.end - cdnow.calibration_end).days
    run = run_clv(
        ClvParameters(model="bgnbd", holdout_days=holdout_days),
        cdnow.end,
        transactions=cdnow.transactions,
        out_dir=tmp_path,
    )
    calibration = next(r for r in run.runs if r["stage"] == "calibration")
    assert calibration["calibration_end_date"] == cdnow.calibration_end
    assert json.loads(calibration["parameters"]) == pytest.approx(BGNBD, abs=TWO_DECIMALS)
    assert calibration["holdout_customers"] == 2357
    assert [p.name for p in run.plots] == [
        "clv_calibration_vs_holdout_bgnbd.png",
        "clv_tracking_bgnbd.png",
    ]


def test_pareto_nbd_recovers_published_estimates(cdnow):
    fit = fit_purchase_model(cdnow.calibration_summary, "pareto_nbd", ClvParameters())
    assert fit.ok and fit.converged
    assert fit.params == pytest.approx(PARETO, abs=TWO_DECIMALS)
    assert fit.log_likelihood == pytest.approx(-9595.0, abs=0.05)


@pytest.mark.parametrize("model", ["bgnbd", "mbgnbd", "pareto_nbd"])
def test_compressed_fit_equals_uncompressed_fit(cdnow, model):
    compressed = fit_purchase_model(cdnow.calibration_summary, model)
    plain = fit_purchase_model(cdnow.calibration_summary, model, compressed=False)
    assert compressed.rows_fitted < plain.rows_fitted == 2357
    assert compressed.params == pytest.approx(plain.params, rel=1e-6, abs=1e-6)
    assert compressed.log_likelihood == pytest.approx(plain.log_likelihood, abs=1e-6)


@pytest.mark.parametrize("fitter", [BetaGeoFitter, ModifiedBetaGeoFitter])
def test_compressed_fit_equals_lifetimes_on_every_customer(cdnow, fitter):
    s = cdnow.calibration_summary
    reference = fitter().fit(s["frequency"], s["recency"], s["T"]).params_
    model = "bgnbd" if fitter is BetaGeoFitter else "mbgnbd"
    ours = fit_purchase_model(s, model).params
    assert ours == pytest.approx(reference.to_dict(), rel=1e-6, abs=1e-6)


def test_spend_fit_on_compressed_rows_equals_lifetimes_on_every_buyer(cdnow):
    buyers = cdnow.calibration_summary.query("frequency > 0 and monetary_value > 0")
    reference = GammaGammaFitter().fit(buyers["frequency"], buyers["monetary_value"]).params_
    ours = fit_spend_model(cdnow.calibration_summary)
    assert ours.rows_fitted < len(buyers)
    assert ours.params == pytest.approx(reference.to_dict(), rel=1e-6, abs=1e-6)


def test_compress_keeps_every_customer_once(cdnow):
    s = cdnow.calibration_summary
    rows = compress(s)
    assert rows["weight"].sum() == len(s)
    assert not rows.duplicated(["frequency", "recency", "T"]).any()
    # Weighted sums of the history columns are those of the customers.
    for column in ("frequency", "recency", "T"):
        assert (rows[column] * rows["weight"]).sum() == pytest.approx(s[column].sum())
    assert len(rows) == len(s.drop_duplicates(["frequency", "recency", "T"]))
    assert isinstance(rows, pd.DataFrame)
