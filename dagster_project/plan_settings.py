"""The `plans:` section of loyalty.yml: what the retailer means to do for each group of customers,
and what they expect from it (docs/marketing.md, "Plans").

A plan targets people (an export segment by name, or a rule in the same form), sets an objective
(a metric, a target, a baseline day and a due date), and says who owns it, what it may spend,
over which period, through which channel, and by which actions. Checked once, like every other
key, and an error names the key.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path
from typing import ClassVar, Literal

import yaml
from pydantic import Field, field_validator, model_validator

from dagster_project.segment_settings import RULE_FIELDS, SegmentRule
from dagster_project.settings_base import Strict

# Metrics measured on the plan's own people (docs/marketing.md says how each is counted).
AUDIENCE_METRICS = (
    "customers",
    "reactivated",
    "retained_share",
    "revenue",
    "orders",
    "average_order_value",
)
KPI_PREFIX = "kpi_daily."
KPI_MODEL_DOCS = Path(__file__).resolve().parents[1] / "dbt" / "models" / "analytics"


@cache
def kpi_columns() -> tuple[str, ...]:
    """The documented columns of analytics.kpi_daily (its dbt yml), the chain's daily KPIs."""
    for path in sorted(KPI_MODEL_DOCS.glob("_*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models", []):
            if model["name"] == "kpi_daily":
                columns = [c["name"] for c in model.get("columns", [])]
                return tuple(c for c in columns if c != "as_of_date")
    return ()


class Objective(Strict):
    """What the plan should achieve: `metric` reaches `target` by `due_date`, from its value on
    `baseline_date` (a straight line between the two says where it should be on any day)."""

    metric: str = Field(
        description="customers, reactivated, retained_share, revenue, orders, "
        "average_order_value, or kpi_daily.<column>"
    )
    target: float
    baseline_date: date
    due_date: date

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str) -> str:
        if value in AUDIENCE_METRICS:
            return value
        if value.startswith(KPI_PREFIX) and value.removeprefix(KPI_PREFIX) in kpi_columns():
            return value
        raise ValueError(
            f"unknown metric {value!r}: use one of {', '.join(AUDIENCE_METRICS)}, or "
            f"{KPI_PREFIX}<column> with a column of analytics.kpi_daily "
            f"({', '.join(kpi_columns())})"
        )

    @model_validator(mode="after")
    def _due_after_baseline(self) -> Objective:
        if self.due_date <= self.baseline_date:
            raise ValueError(f"due_date {self.due_date} is not after baseline_date")
        if self.metric == "retained_share" and not 0 <= self.target <= 1:
            raise ValueError("a retained_share target is a share between 0 and 1")
        return self


class Budget(Strict):
    """What the plan may spend: a total, a cost per person contacted, or both (spend so far is
    the contacts times the cost per contact, never more than the total)."""

    total: float | None = Field(None, ge=0)
    per_contact: float | None = Field(None, ge=0)
    currency: str = Field("EUR", min_length=3, max_length=3)

    @model_validator(mode="after")
    def _something_to_spend(self) -> Budget:
        if self.total is None and self.per_contact is None:
            raise ValueError("give total, per_contact or both")
        return self


class Period(Strict):
    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self


class Action(Strict):
    """One thing the plan does: a communication, a promotion (with the coupon code the tills and
    the shop record, so redemptions can be counted), a service or a product."""

    kind: Literal["communication", "promotion", "service", "product"]
    description: str = Field(min_length=1)
    coupon: str | None = Field(None, min_length=1, description="the promotion's coupon code")

    @model_validator(mode="after")
    def _coupon_on_promotions(self) -> Action:
        if self.kind == "promotion" and not self.coupon:
            raise ValueError("a promotion names its coupon (the code tills and shop record)")
        if self.kind != "promotion" and self.coupon:
            raise ValueError(f"coupon is for promotions, not a {self.kind}")
        return self


class PlanTargets(SegmentRule):
    """Who a plan is for: an export segment by name (`segment`, whose files and control group the
    plan then uses), or a rule in the form of exports.segments."""

    CRITERIA: ClassVar[tuple[str, ...]] = (*RULE_FIELDS, "segment")
    segment: str | None = Field(None, description="a segment of exports.segments")

    @model_validator(mode="after")
    def _a_segment_or_a_rule(self) -> PlanTargets:
        rule = [key for key, value in self.model_dump().items() if value and key != "segment"]
        if self.segment and rule:
            raise ValueError(f"give segment or a rule, not both (segment and {', '.join(rule)})")
        return self


class PlanSettings(Strict):
    """A plan per segment: who, what for, who answers for it, what it may spend, when, how."""

    description: str | None = None
    targets: PlanTargets
    objective: Objective
    owner: str = Field(min_length=1, description="who answers for the plan")
    budget: Budget
    period: Period
    channel: Literal["email", "sms"] = "email"
    actions: list[Action] = Field(min_length=1)

    @property
    def coupons(self) -> list[str]:
        return [action.coupon for action in self.actions if action.coupon]
