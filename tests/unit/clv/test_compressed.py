"""A summary compressed where it is kept (a `weight` per distinct row) fits like the full one, and
customers scored a slice at a time with the whole's `Population` get the whole's scores: what
the CLV on Spark relies on (fit on the driver, score partition by partition)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.clv import ClvParameters, fit_purchase_model, fit_spend_model
from dagster_project.lib.clv.fit import FitResult
from dagster_project.lib.clv.run import fit_clv
from dagster_project.lib.clv.score import Population, score_customers
from dagster_project.lib.clv.spend import margin_summary

AS_OF = date(1997, 9, 30)
WEEKS = ClvParameters(time_unit="W", horizon_days=365)
COMPRESSED_ON = [
    "frequency",
    "recency",
    "T",
    "monetary_value",
    "total_spend",
    "monetary_margin",
    "total_margin",
]


def compressed(summary: pd.DataFrame) -> pd.DataFrame:
    """Distinct rows with their count, computed with pandas alone (as Spark's groupBy would)."""
    rows = summary.groupby(COMPRESSED_ON, as_index=False).size().rename(columns={"size": "weight"})
    return rows.assign(customer_key=[f"row{i}" for i in range(len(rows))])


@pytest.fixture(scope="module")
def summary(cdnow) -> pd.DataFrame:
    # Whole-dollar spends, so that many customers share a row and the weights matter.
    frame = cdnow.calibration_summary.assign(monetary_value=lambda s: s["monetary_value"].round())
    return frame.assign(
        total_spend=lambda s: s["monetary_value"] * (s["frequency"] + 1),
        monetary_margin=lambda s: (s["monetary_value"] * 0.4).round(),
        total_margin=lambda s: s["monetary_margin"] * (s["frequency"] + 1),
    )


def test_the_compressed_summary_is_much_smaller(summary):
    rows = compressed(summary)
    assert rows["weight"].sum() == len(summary)
    assert len(rows) < len(summary) / 2


@pytest.mark.parametrize("model", ["bgnbd", "pareto_nbd"])
def test_a_compressed_summary_fits_the_same_purchase_model(summary, model):
    full = fit_purchase_model(summary, model, WEEKS)
    weighted = fit_purchase_model(compressed(summary), model, WEEKS)
    assert full.ok and weighted.ok
    assert weighted.customers == full.customers == len(summary)
    assert weighted.rows_fitted == full.rows_fitted
    for name, value in full.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-9), name


def test_a_compressed_summary_fits_the_same_spend_model(summary):
    full = fit_spend_model(summary, WEEKS)
    weighted = fit_spend_model(compressed(summary), WEEKS)
    assert full.ok and weighted.ok and weighted.customers == full.customers
    assert weighted.correlation == pytest.approx(full.correlation, rel=1e-12)
    for name, value in full.params.items():
        assert weighted.params[name] == pytest.approx(value, rel=1e-9), name


def test_the_population_of_the_compressed_rows_is_the_wholes(summary):
    whole, rows = Population.of(summary), Population.of(compressed(summary))
    assert rows.heuristic.pooled_rate == pytest.approx(whole.heuristic.pooled_rate, rel=1e-12)
    assert rows.mean_repeat_spend == pytest.approx(whole.mean_repeat_spend, rel=1e-12)
    assert rows.mean_purchase_value == pytest.approx(whole.mean_purchase_value, rel=1e-12)
    # Independently: the mean spend of repeat buyers who spent, straight from pandas.
    repeat = summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]
    assert whole.mean_repeat_spend == pytest.approx(repeat["monetary_value"].mean(), rel=1e-12)


@pytest.mark.parametrize("fitted", [True, False], ids=["model", "heuristic"])
def test_slices_scored_with_the_wholes_population_get_the_wholes_scores(summary, fitted):
    purchases = fit_purchase_model(summary, "bgnbd", WEEKS)
    spend = fit_spend_model(summary, WEEKS)
    margin = fit_spend_model(margin_summary(summary), WEEKS, "gamma_gamma_margin")
    if not fitted:  # the fallbacks lean on the population most
        purchases = FitResult("bgnbd", "failed")
        spend = FitResult("gamma_gamma", "failed")
        margin = FitResult("gamma_gamma_margin", "failed")
    whole = score_customers(summary, purchases, spend, WEEKS, AS_OF, margin_fit=margin)
    assert whole["predicted_margin_clv"].notna().all()
    population = Population.of(compressed(summary))
    margin_population = Population.of(margin_summary(compressed(summary)))
    # Slices with no repeat buyer at all, or only repeat buyers, as a partition may be.
    slices = [summary[summary["frequency"] == 0], summary[summary["frequency"] > 0]]
    parts = pd.concat(
        [
            score_customers(
                s, purchases, spend, WEEKS, AS_OF, population, margin, margin_population
            )
            for s in slices
        ]
    ).set_index("customer_key")
    parts = parts.loc[whole["customer_key"]].reset_index()
    assert (parts["method"] == whole["method"]).all()
    assert (whole["method"] == ("model" if fitted else "heuristic")).all()
    numbers = whole.select_dtypes("number").columns
    np.testing.assert_allclose(parts[numbers], whole[numbers], rtol=1e-12, atol=0)
    assert parts["expected_next_purchase_date"].equals(whole["expected_next_purchase_date"])


def test_fit_clv_on_compressed_rows_records_the_fits_of_the_full_summary(summary):
    full = fit_clv(WEEKS, AS_OF, summary=summary)
    weighted = fit_clv(WEEKS, AS_OF, summary=compressed(summary))
    assert (
        [r["status"] for r in weighted.runs]
        == [r["status"] for r in full.runs]
        == [
            "ok",
            "ok",
            "ok",
        ]
    )
    for ours, theirs in zip(weighted.runs, full.runs, strict=True):
        assert ours["customers"] == theirs["customers"]
        assert ours["log_likelihood"] == pytest.approx(theirs["log_likelihood"], rel=1e-9)
