"""`loyalty demo` as a user runs it: generated data through every step to the segment files."""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from pathlib import Path

import duckdb
from loyalty_project import (
    MART_TABLES,
    guarded_tables,
    loyalty,
    pos_net_revenue,
    shopify_net_revenue,
)


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
