"""`loyalty demo` as a user runs it: generated data through every step to the segment files."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from loyalty_project import (
    MART_TABLES,
    guarded_tables,
    loyalty,
    pos_net_revenue,
    shopify_net_revenue,
)

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=9)


def test_demo_builds_the_marts_and_they_reconcile_to_the_landing_files(tmp_path: Path):
    demo = loyalty("demo", "--customers", "300", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Running 2024-01-01 .. 2025-12-31" in demo.stderr
    landing = tmp_path / "data" / "landing"
    assert f"Landing files: {landing}" in demo.stdout
    expected = pos_net_revenue(landing) + shopify_net_revenue(landing)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        for table in MART_TABLES:
            assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table
        (net,) = con.execute("select sum(net_amount) from marts.fct_transactions").fetchone()
        # The analytics as of the demo's last day, in every table a suite guards.
        for table in guarded_tables("analytics"):
            rows = con.execute(
                f"select count(*) from analytics.{table} where as_of_date = '2025-12-31'"
            ).fetchone()[0]
            assert rows > 0, table
    assert Decimal(net) == expected
    # Files for every tool and segment of the demo configuration, their manifests true to them.
    exports = tmp_path / "data" / "exports"
    for tool in ("mailchimp", "klaviyo", "brevo", "hubspot", "generic"):
        for segment in ("champions", "win_back", "gold_high_value"):
            latest = exports / tool / segment / "latest"
            manifest = json.loads((latest / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["as_of_date"] == "2025-12-31", (tool, segment)
            for entry in manifest["files"]:
                data = (latest / entry["name"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"], entry["name"]
    assert f"Exports: {exports}" in demo.stdout
    # The marketing loop: three plans followed on the six month-ends and the last day, each
    # against its export segment's control group, and the report's Plans section showing them.
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        days = dict(
            con.execute(
                "select plan, count(distinct as_of_date) from analytics.plan_progress group by plan"
            ).fetchall()
        )
        segments = {
            plan: segment
            for plan, segment in con.execute(
                "select distinct plan, segment from analytics.plan_progress"
            ).fetchall()
        }
        (waves,) = con.execute(
            "select count(distinct export_date) from analytics.campaign_results "
            "where is_complete and campaign = 'champions'"
        ).fetchall()[0]
        (measured,) = con.execute(
            "select count(*) from analytics.recommendation_runs where customers_measured > 0"
        ).fetchall()[0]
    assert days == {"grow_champions": 7, "win_back_gold": 7, "cross_sell_store_loyal": 7}
    assert all(segments.values()), segments
    # A wave a month, each window closed between two month-ends: they get their results (a
    # month whose control group of so small a demo is empty has none).
    assert waves >= 3
    assert measured >= 6
    report = (tmp_path / "data" / "reports" / "customer_report_2025-12-31.html").read_text(
        encoding="utf-8"
    )
    assert '<section id="plans">' in report
    assert all(f"<td>{plan}</td>" in report for plan in days)
