"""Control groups (share, balance across tiers, stickiness) and the lift estimate."""

import math

import numpy as np
import pandas as pd
import pytest

from dagster_project.lib.exports.control import assign_control, stratum_quotas
from dagster_project.lib.exports.lift import campaign_lift

KEY = "test-key"


def members(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    tiers = rng.choice(
        ["gold", "silver", "bronze", "wood", None], size=n, p=[0.1, 0.2, 0.3, 0.3, 0.1]
    )
    return pd.DataFrame({"customer_key": [f"ck{i}" for i in range(n)], "value_tier": tiers})


@pytest.mark.parametrize("n", [50, 137, 1000, 20_000])
@pytest.mark.parametrize("share", [0.05, 0.1, 0.25])
def test_the_control_share_is_the_configured_one_within_a_point_and_balanced(n, share):
    frame = members(n)
    control = assign_control(frame, "vip", share, KEY)
    # Within half a customer of the share: one point or better from 50 members up.
    assert control.sum() == math.floor(n * share + 0.5)
    assert abs(control.mean() - share) <= 0.01 + 1e-12
    by_tier = control.groupby(frame["value_tier"].fillna("none")).agg(["sum", "size"])
    for tier, row in by_tier.iterrows():
        assert abs(row["sum"] - row["size"] * share) < 1, tier


def test_assignment_is_deterministic_per_campaign_and_key():
    frame = members(500)
    first = assign_control(frame, "vip", 0.1, KEY)
    assert first.equals(
        assign_control(frame.sample(frac=1, random_state=3), "vip", 0.1, KEY)[frame.index]
    )
    assert not first.equals(assign_control(frame, "at_risk", 0.1, KEY))
    assert not first.equals(assign_control(frame, "vip", 0.1, "another-key"))


def test_earlier_assignments_stick_and_newcomers_fill_the_quota():
    day_one = members(400)
    control_one = assign_control(day_one, "vip", 0.1, KEY)
    previous = pd.DataFrame({"customer_key": day_one["customer_key"], "is_control": control_one})
    day_two = pd.concat([day_one.iloc[50:], members(600, seed=9).iloc[400:]], ignore_index=True)
    day_two["customer_key"] = day_two["customer_key"].where(
        day_two.index < 350, "new" + day_two["customer_key"]
    )
    control_two = assign_control(day_two, "vip", 0.1, KEY, previous)
    stayed = day_two["customer_key"].isin(previous["customer_key"])
    was = day_two.loc[stayed, "customer_key"].map(previous.set_index("customer_key")["is_control"])
    assert (control_two[stayed] == was).all()
    assert abs(control_two.mean() - 0.1) <= 0.01


def test_quotas_add_up_exactly():
    quotas = stratum_quotas(pd.Series({"a": 3, "b": 3, "c": 3}), 0.5)
    assert quotas.sum() == 5 and set(quotas) <= {1, 2}


def test_the_lift_estimate_recovers_a_known_uplift_within_its_interval():
    rng = np.random.default_rng(5)
    n = 40_000
    is_control = rng.random(n) < 0.2
    base_rate, uplift = 0.20, 0.05
    purchased = rng.random(n) < np.where(is_control, base_rate, base_rate + uplift)
    revenue = np.where(purchased, rng.gamma(2.0, 20.0, n), 0.0)
    lift = campaign_lift(
        pd.DataFrame({"is_control": is_control, "purchased": purchased, "revenue": revenue})
    )
    assert lift.purchase_rate_lift_low <= uplift <= lift.purchase_rate_lift_high
    assert lift.purchase_rate_lift_low > 0  # a real uplift is told from none
    assert lift.revenue_per_head_lift_low <= uplift * 40.0 <= lift.revenue_per_head_lift_high
    assert lift.treated + lift.control == n
    assert lift.incremental_buyers == pytest.approx(lift.purchase_rate_lift * lift.treated)


def test_no_control_group_means_no_lift():
    frame = pd.DataFrame(
        {"is_control": [False, False], "purchased": [True, False], "revenue": [1.0, 0]}
    )
    assert campaign_lift(frame) is None
