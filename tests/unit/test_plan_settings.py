"""The `plans:` section: every key checked when the configuration is read, errors naming the key,
and every key documented (the list derived from the settings models)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel

from dagster_project.cli import DEMO_CONFIG, DEMO_START
from dagster_project.config import ConfigError, load_settings, settings_from_dict
from dagster_project.plan_settings import (
    AUDIENCE_METRICS,
    Action,
    Budget,
    Objective,
    Period,
    PlanSettings,
    kpi_columns,
)

REPO = Path(__file__).resolve().parents[2]
SEGMENTS = {"exports": {"segments": {"champions": {"rfm_segment": ["Champions"]}}}}
PLAN = {
    "targets": {"segment": "champions"},
    "objective": {
        "metric": "customers",
        "target": 2000,
        "baseline_date": "2025-10-31",
        "due_date": "2026-03-31",
    },
    "owner": "CRM lead",
    "budget": {"total": 1000, "per_contact": 0.02},
    "period": {"start": "2025-11-01", "end": "2026-03-31"},
    "actions": [{"kind": "promotion", "coupon": "VUELVE15", "description": "15% off"}],
}


def settings_with(plan: dict, name: str = "grow"):
    return settings_from_dict({**SEGMENTS, "plans": {name: plan}}, Path("/x/loyalty.yml"))


def test_a_plan_reads_back_as_written():
    plan = settings_with(PLAN).plans["grow"]
    assert plan.targets.segment == "champions"
    assert plan.objective.metric == "customers" and plan.objective.target == 2000
    assert plan.budget.currency == "EUR" and plan.channel == "email"
    assert plan.coupons == ["VUELVE15"]


def test_a_plan_can_target_a_rule_and_a_kpi():
    plan = settings_with(
        {
            **PLAN,
            "targets": {"value_tier": ["gold"], "where": "days_since_last_purchase > 90"},
            "objective": {**PLAN["objective"], "metric": f"kpi_daily.{kpi_columns()[0]}"},
        }
    ).plans["grow"]
    assert plan.targets.segment is None and plan.targets.value_tier == ["gold"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"targets": {"segment": "vip"}}, r"plans\.grow\.targets\.segment: 'vip' is not a segment"),
        (
            {"targets": {"segment": "champions", "value_tier": ["gold"]}},
            r"plans\.grow\.targets: give segment or a rule, not both",
        ),
        ({"targets": {"tier": ["gold"]}}, r"plans\.grow\.targets\.tier: unknown key"),
        (
            {"targets": {"where": "customer_key in (select customer_key from marts.x)"}},
            r"plans\.grow\.targets\.where: a subquery is not allowed",
        ),
        (
            {"objective": {**PLAN["objective"], "metric": "kpi_daily.nope"}},
            r"plans\.grow\.objective\.metric: unknown metric 'kpi_daily\.nope'",
        ),
        (
            {"objective": {**PLAN["objective"], "due_date": "2025-10-01"}},
            r"plans\.grow\.objective: due_date 2025-10-01 is not after baseline_date",
        ),
        (
            {"objective": {**PLAN["objective"], "metric": "retained_share", "target": 80}},
            r"plans\.grow\.objective: a retained_share target is a share between 0 and 1",
        ),
        ({"budget": {"currency": "EUR"}}, r"plans\.grow\.budget: give total, per_contact or both"),
        ({"budget": {"total": -5}}, r"plans\.grow\.budget\.total"),
        (
            {"period": {"start": "2026-01-01", "end": "2025-12-01"}},
            r"plans\.grow\.period: end 2025-12-01 is before start",
        ),
        ({"channel": "fax"}, r"plans\.grow\.channel"),
        (
            {"channel": "sms"},
            r"plans\.grow\.channel: sms, but exports\.segments\.champions is sent by email",
        ),
        ({"actions": []}, r"plans\.grow\.actions"),
        (
            {"actions": [{"kind": "promotion", "description": "x"}]},
            r"plans\.grow\.actions\.0: a promotion names its coupon",
        ),
        (
            {"actions": [{"kind": "service", "coupon": "X1", "description": "x"}]},
            r"plans\.grow\.actions\.0: coupon is for promotions, not a service",
        ),
        ({"owner": ""}, r"plans\.grow\.owner"),
        ({"budjet": {}}, r"plans\.grow\.budjet: unknown key"),
    ],
)
def test_a_bad_plan_is_refused_naming_the_key(change, message):
    with pytest.raises(ConfigError, match=message):
        settings_with({**PLAN, **change})


def test_a_plan_name_must_name_a_folder():
    with pytest.raises(ConfigError, match=r"plans: plan name 'grow champions'"):
        settings_with(PLAN, name="grow champions")


def test_kpi_metrics_are_the_documented_columns_of_kpi_daily():
    """Derived from the dbt project's documentation of the model, not typed here."""
    docs = yaml.safe_load(
        (REPO / "dbt" / "models" / "analytics" / "_analytics__models.yml").read_text()
    )
    (model,) = [m for m in docs["models"] if m["name"] == "kpi_daily"]
    documented = {c["name"] for c in model["columns"]} - {"as_of_date"}
    assert set(kpi_columns()) == documented
    sql = (REPO / "dbt" / "models" / "analytics" / "kpi_daily.sql").read_text()
    assert all(column in sql for column in documented)


def test_the_demo_configurations_ship_three_plans_a_coupon_among_them():
    for settings in (
        load_settings(REPO / "loyalty.yml"),
        settings_from_dict(
            yaml.safe_load(DEMO_CONFIG.format(start=DEMO_START.isoformat())),
            Path("/demo/loyalty.yml"),
        ),
    ):
        assert len(settings.plans) == 3
        assert any(plan.coupons for plan in settings.plans.values())
        assert any(plan.targets.segment for plan in settings.plans.values())


def _keys(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


@pytest.mark.parametrize(
    "model", [PlanSettings, Objective, Budget, Period, Action], ids=lambda m: m.__name__
)
def test_every_plan_key_is_documented(model):
    marketing = (REPO / "docs" / "marketing.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    (row,) = [line for line in readme.splitlines() if line.startswith("| `plans.<name>`")]
    for key in _keys(model):
        # As itself or in a dotted path: `budget.total`, `objective.metric`, `.due_date`.
        named = re.compile(rf"`([\w<>]*\.)*{key}[`.]")
        assert named.search(row), key
        assert named.search(marketing), key
    for metric in AUDIENCE_METRICS:
        assert f"`{metric}`" in row and f"`{metric}`" in marketing, metric
