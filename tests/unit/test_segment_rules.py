"""Segment rules reach the day's analytics columns and nothing else (lib/segment_rules.py).

Each bypass a reviewer would try is refused in one line naming the key; and a condition that
got past the parser still finds no table or file where it is evaluated.
"""

from __future__ import annotations

from datetime import date

import duckdb
import pytest
from segment_tables import create_segment_tables

from dagster_project.config import ConfigError, settings_from_dict
from dagster_project.lib.exports import build
from dagster_project.lib.exports.build import SegmentError, segment_members
from dagster_project.lib.segment_rules import (
    checked_condition,
)
from dagster_project.segment_settings import SegmentRule

RX = "(select customer_key from marts.fct_transaction_lines where category = 'Recetas')"
BYPASSES = {
    "subquery": f"customer_key in {RX}",
    "scalar subquery": f"customer_key = {RX}",
    "exists": "exists (select 1 from marts.fct_transaction_lines as l where l.is_prescription)",
    "cte": "customer_key in (with rx as (select * from marts.fct_transaction_lines) "
    "select customer_key from rx)",
    "join": "customer_key in (select l.customer_key from marts.fct_transaction_lines as l "
    "join marts.dim_products as p using (sku) where p.is_prescription)",
    "table function": "customer_key in (select * from read_csv('landing/pos/tickets/x.csv'))",
    "scalar file read": "length(read_text('/etc/passwd')) > 0",
    "setting": "current_setting('home_directory') is not null",
    "statement after": "frequency > 0; select * from marts.fct_transaction_lines",
    "quoted qualified column": '"marts"."fct_transaction_lines"."is_prescription"',
    "quoted column of another table": "\"category\" = 'Recetas'",
    "qualified through an alias": "history.customer_key is not null",
    "parameter": "customer_key = $as_of",
    "star": "customer_key in (*)",
}


@pytest.mark.parametrize("condition", BYPASSES.values(), ids=BYPASSES.keys())
def test_every_bypass_is_refused_in_one_line_naming_the_key(condition):
    with pytest.raises(ConfigError) as refused:
        settings_from_dict({"exports": {"segments": {"vip": {"where": condition}}}})
    message = str(refused.value)
    assert message.startswith("configuration: exports.segments.vip.where: ")
    assert "\n" not in message


def test_a_comment_cannot_hide_part_of_the_condition_from_the_check():
    # Wrapped in parentheses as written, the comment would swallow the closing one; what runs is
    # the checked tree rendered without comments.
    tricked = "rfm_segment = 'Champions' -- ) or customer_key in (select 1"
    assert checked_condition(tricked) == "rfm_segment = 'Champions'"
    hidden = "rfm_segment = 'Champions' /* */ or customer_key in " + RX
    with pytest.raises(ValueError, match="subquery"):
        checked_condition(hidden)


def test_conditions_over_the_analytics_columns_are_accepted_as_written():
    condition = (
        "lower(rfm_segment) in ('champions', 'loyal') and frequency between 1 and 3 "
        "and coalesce(predicted_clv, 0) >= 50.5 and \"VALUE_TIER\" <> 'wood' "
        "and expected_next_purchase_date < date '2025-06-01'"
    )
    checked = checked_condition(condition)
    assert "LOWER(rfm_segment) IN ('champions', 'loyal')" in checked
    assert "BETWEEN 1 AND 3" in checked


@pytest.fixture
def warehouse():
    """A warehouse with the analytics the base reads and a prescription mart beside them."""
    con = duckdb.connect(":memory:")
    con.execute("create schema analytics; create schema marts")
    con.execute(
        "create table analytics.customer_segment_history as select * from (values "
        "(date '2025-03-31', 'ana', 'Champions', 'gold', 'active', 120.0, 0.9), "
        "(date '2025-03-31', 'bea', 'Loyal', 'silver', 'active', 60.0, 0.8)) as t("
        "as_of_date, customer_key, rfm_segment, value_tier, lifecycle_stage, predicted_clv, "
        "probability_alive)"
    )
    create_segment_tables(con, "analytics.customer_segment_history", "1")
    con.execute(
        "create table marts.fct_transaction_lines as "
        "select 'bea' as customer_key, 'Recetas' as category, true as is_prescription"
    )
    yield con
    con.close()


def test_a_rule_selects_from_the_day_analytics(warehouse):
    rule = SegmentRule(value_tier=["gold", "silver"], where="predicted_clv > 100")
    members = segment_members(warehouse, "vip", rule, date(2025, 3, 31))
    assert members["customer_key"].tolist() == ["ana"]


def test_a_rule_can_select_by_age_life_stage_place_and_tenure(warehouse):
    """Who the customers are (dim_customers: a table of people, joined on the customer alone)
    and how long they have bought, beside the day's analytics."""
    warehouse.execute(
        "create or replace table marts.dim_customers as select * from (values "
        "('ana', 1950, 'married', '28'), ('bea', 1990, 'married', '28')) "
        "as t(customer_key, birth_year, marital_status, postal_area)"
    )
    rule = SegmentRule(
        where="age >= 70 and marital_status = 'married' and postal_area = '28' and tenure_days >= 1"
    )
    members = segment_members(warehouse, "seniors", rule, date(2025, 3, 31))
    assert members["customer_key"].tolist() == ["ana"]  # 75 in 2025; bea is 35


@pytest.mark.parametrize(
    "condition",
    [
        f"customer_key in {RX}",
        "customer_key in (select customer_key from analytics.customer_rfm)",
        "customer_key in (select * from read_csv('/etc/hostname'))",
    ],
)
def test_a_condition_past_the_parser_still_reaches_no_table_or_file(
    warehouse, condition, monkeypatch
):
    # As if the parser had let the condition through: validation and the check both skipped.
    monkeypatch.setattr(build, "checked_condition", lambda where: where)
    rule = SegmentRule.model_construct(where=condition)
    with pytest.raises(SegmentError, match=r"^exports\.segments\.vip: the rule does not apply"):
        segment_members(warehouse, "vip", rule, date(2025, 3, 31))


def test_an_sms_segment_needs_a_tool_that_sends_sms():
    segments = {"vip": {"value_tier": ["gold"], "channel": "sms"}}
    with pytest.raises(ConfigError, match=r"segments\.vip\.channel: sms needs one of"):
        settings_from_dict({"exports": {"tools": ["mailchimp", "hubspot"], "segments": segments}})
    settings = settings_from_dict({"exports": {"tools": ["brevo"], "segments": segments}})
    assert settings.exports.segments["vip"].channel == "sms"
    # The channel alone says nobody: a segment still needs a rule.
    with pytest.raises(ConfigError, match=r"exports\.segments\.vip: give at least one of"):
        settings_from_dict(
            {"exports": {"tools": ["brevo"], "segments": {"vip": {"channel": "sms"}}}}
        )
