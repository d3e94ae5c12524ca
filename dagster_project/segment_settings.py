"""Who a segment holds: the rule form shared by `exports.segments` and `plans.*.targets`."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, field_validator, model_validator

from dagster_project.lib.segment_rules import checked_condition
from dagster_project.settings_base import Strict

# What says who is in a segment (an export segment adds how it is reached: `channel`).
RULE_FIELDS = ("rfm_segment", "value_tier", "lifecycle_stage", "clv_min", "clv_max", "where")


class SegmentRule(Strict):
    """Who an export segment holds, as of the run's day: every criterion given must hold."""

    # The fields that say who: at least one must be given.
    CRITERIA: ClassVar[tuple[str, ...]] = RULE_FIELDS

    rfm_segment: list[str] | None = None
    value_tier: list[Literal["gold", "silver", "bronze", "wood"]] | None = None
    lifecycle_stage: (
        list[Literal["prospect", "new", "active", "at_risk", "lapsed", "lost", "reactivated"]]
        | None
    ) = None
    clv_min: float | None = Field(None, description="predicted CLV at least this")
    clv_max: float | None = Field(None, description="predicted CLV below this")
    where: str | None = Field(None, description="SQL condition over the analytics columns")

    @model_validator(mode="after")
    def _meaningful(self) -> SegmentRule:
        given = [name for name in self.CRITERIA if getattr(self, name) is not None]
        if not given:
            raise ValueError(
                "give at least one of rfm_segment, value_tier, lifecycle_stage, "
                "clv_min, clv_max, where"
            )
        return self

    @field_validator("where")
    @classmethod
    def _analytics_columns_only(cls, value: str | None) -> str | None:
        # Parsed, not searched for words: only the analytics columns, values, operators and
        # plain functions (lib/segment_rules.py), so no rule can reach prescription data.
        if value is not None:
            checked_condition(value)
        return value


class ExportSegment(SegmentRule):
    """An export segment: who it holds (the rule), and how they are reached. `sms` segments go
    to the people with SMS consent and a number, through the tools that send SMS."""

    channel: Literal["email", "sms"] = Field("email", description="email or sms")
