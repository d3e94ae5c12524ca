"""Our summary from transactions equals lifetimes' own (the definitions the models expect)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lifetimes.utils import summary_data_from_transaction_data

from dagster_project.lib.clv import summarize


@pytest.mark.parametrize(("unit", "multiplier"), [("D", 1), ("W", 7)])
def test_summary_equals_lifetimes(cdnow, unit, multiplier):
    as_of = cdnow.calibration_end
    days = cdnow.transactions.groupby(["customer_key", "date"], as_index=False)["amount"].sum()
    reference = summary_data_from_transaction_data(
        days,
        "customer_key",
        "date",
        "amount",
        observation_period_end=as_of.isoformat(),
        freq="D",
        freq_multiplier=multiplier,
    ).sort_index()
    ours = summarize(cdnow.transactions, as_of, unit).set_index("customer_key")
    assert ours.index.equals(reference.index)
    for column in ("frequency", "recency", "T", "monetary_value"):
        np.testing.assert_allclose(ours[column], reference[column], rtol=1e-12, err_msg=column)


def test_total_spend_counts_every_purchase_up_to_the_as_of_date(cdnow):
    ours = summarize(cdnow.transactions, cdnow.calibration_end, "W").set_index("customer_key")
    upto = cdnow.transactions[cdnow.transactions["date"] <= pd.Timestamp(cdnow.calibration_end)]
    np.testing.assert_allclose(ours["total_spend"], upto.groupby("customer_key")["amount"].sum())
    assert (ours["first_purchase_date"] == upto.groupby("customer_key")["date"].min()).all()


def test_timestamps_with_offsets_use_the_local_day():
    tx = pd.DataFrame(
        {
            "customer_key": [1, 1, 1],
            "date": [
                "2024-03-01T23:30:00+01:00",
                "2024-03-01T08:00:00+01:00",
                "2024-03-08T10:00+01:00",
            ],
        }
    )
    s = summarize(tx, pd.Timestamp("2024-03-15").date(), "D").iloc[0]
    assert (s["frequency"], s["recency"], s["T"]) == (1.0, 7.0, 14.0)
    assert np.isnan(s["monetary_value"]) and np.isnan(s["total_spend"])
