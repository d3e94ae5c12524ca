"""`loyalty run` and `loyalty history` on one generated project, as a user runs them.

Numbers are checked against independent computations on the landing files (pandas and json,
in loyalty_project), never against the pipeline's own tables.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from loyalty_project import (
    END,
    MART_TABLES,
    START,
    Project,
    generated_project,
    guarded_tables,
    loyalty,
    pos_net_revenue,
    shopify_net_revenue,
)
from prerequisites import require_chromium
from warehouse_snapshot import all_tables, is_as_of_output

from dagster_project.definitions import PIPELINE_JOB
from dagster_project.lib.report.page import SECTION_TITLES, SECTIONS
from dagster_project.lib.tables import PYTHON_TABLES
from dagster_project.pipeline import PARTITION_TAG, RANGE_START_TAG

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=12)


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return generated_project(tmp_path_factory.mktemp("clean"))


# --- the clean demo-like run --------------------------------------------------------------------


def test_run_builds_every_mart_and_says_where(clean: Project):
    assert clean.run.returncode == 0, clean.run.stderr[-3000:]
    assert f"Running {START} .. {END}" in clean.run.stderr
    assert "Warehouse:" in clean.run.stdout
    with clean.connect() as con:
        for table in MART_TABLES:
            assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table
            assert f"marts.{table}" in clean.run.stdout
        assert con.execute("select count(*) from pii.customer_contacts").fetchone()[0] > 0
    # dbt's manifest and parse state sit beside the warehouse, not in the dbt project, and the
    # artefacts folder of each successful dbt invocation is gone (none pile up night after night).
    dbt_target = clean.folder / "dbt_target"
    assert (dbt_target / "manifest.json").exists()
    assert (dbt_target / "partial_parse.msgpack").exists()
    assert [p.name for p in dbt_target.iterdir() if p.is_dir()] == []


# The analytics tables the exports write (the table registry: written by Python, read by no model).
CAMPAIGN_TABLES = {t.name for t in PYTHON_TABLES if t.schema == "analytics" and not t.read_by_dbt}


def suite_evaluations(
    job_name: str, tags: dict[str, str], check_name: str = "gx_suite"
) -> dict[str, dg.AssetCheckEvaluation]:
    """The `check_name` results of the latest run of `job_name` with `tags`, by table."""
    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(dg.RunsFilter(job_name=job_name, tags=tags), limit=1)
        evaluations = [
            record.asset_check_evaluation
            for record in instance.all_logs(
                run.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
            )
        ]
    return {e.asset_key.path[-1]: e for e in evaluations if e.check_name == check_name}


def test_run_fills_every_analytics_table_and_runs_every_suite(clean: Project):
    """Each suite in expectations/ ran as an asset check on the run's days, on real tables."""
    analytics = guarded_tables("analytics")
    with clean.connect() as con:
        # Campaign tables come with exports, which this configuration has none of; transitions
        # need an earlier as-of day (the history test below computes them).
        for table in analytics - CAMPAIGN_TABLES - {"segment_transitions"}:
            rows = con.execute(
                f"select count(*) from analytics.{table} where as_of_date = ?", [END]
            ).fetchone()[0]
            assert rows > 0, table
    # The last day's run checked its raw batch and every table it built as of that day (the
    # generic source is not configured); the run before it, every raw batch of the days before.
    raw_tables = guarded_tables("raw") - {"transactions"}
    by_table = suite_evaluations(PIPELINE_JOB, {"dagster/partition": END})
    assert set(by_table) == analytics | guarded_tables("pii") | raw_tables
    assert by_table["pos_tickets"].metadata["days"].value == END
    earlier = {"dagster/asset_partition_range_start": START}
    raw = suite_evaluations(PIPELINE_JOB, earlier)
    assert set(raw) == raw_tables
    day_before_end = (date.fromisoformat(END) - timedelta(days=1)).isoformat()
    assert raw["pos_tickets"].metadata["days"].value == f"{START}..{day_before_end}"
    # …and the size of each event source's days (warnings only; this data is regular).
    volume = suite_evaluations(PIPELINE_JOB, earlier, check_name="volume")
    assert set(volume) == {"pos_tickets", "pos_members", "shopify_orders", "shopify_customers"}
    assert all(v.severity == dg.AssetCheckSeverity.WARN for v in volume.values())
    # Verdicts counted in DuckDB; a suite that failed (a warning) was validated again by GX for
    # its page of the Data Docs site, and links to it.
    index = clean.folder / "reports" / "data_docs" / "index.html"
    for table, evaluation in [*raw.items(), *by_table.items()]:
        validated_by = evaluation.metadata["validated_by"].value
        assert validated_by == ("duckdb" if evaluation.passed else "great_expectations"), table
        if not evaluation.passed:
            assert evaluation.metadata["data_docs"].value == index.as_uri()
            assert table in index.read_text(encoding="utf-8")
    for table, evaluation in [*raw.items(), *by_table.items()]:
        failed_errors = [
            o
            for o in evaluation.metadata["expectations"].value
            if not o["success"] and o["severity"] == "error"
        ]
        assert failed_errors == [], table


# --- the customer report of the run --------------------------------------------------------------

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
# Every section the report defines, in its order, under its heading.
REPORT_SECTIONS = [SECTION_TITLES[section_id] for section_id, _, _ in SECTIONS]
# What a 120-day history with no exports configured and one as-of day computed has to show.
REPORT_CHARTS = {
    "monthly_trend",
    "segments",
    "tiers",
    "pareto",
    "cohorts",
    "lifecycle_stages",
    "clv_by_tier",
    "clv_tracking",
}


def report_materialization(day: str) -> dg.AssetMaterialization:
    with dg.DagsterInstance.get() as instance:
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["report", "customer_report"]), asset_partitions=[day]
            ),
            limit=1,
        ).records
    assert records, f"no customer report materialised for {day}"
    return records[0].asset_materialization


def test_the_run_writes_the_customer_report_and_attaches_it_to_the_run(clean: Project):
    reports = clean.folder / "reports"
    page = reports / f"customer_report_{END}.html"
    html = page.read_text(encoding="utf-8")
    assert (reports / "customer_report_latest.html").read_text(encoding="utf-8") == html
    assert f"As of {END}" in html
    assert "http://" not in html and "https://" not in html
    with clean.connect() as con:
        (customers,) = con.execute(
            "select customers from analytics.kpi_daily where as_of_date = ?", [END]
        ).fetchone()
        keys = {
            k for (k,) in con.execute("select customer_key from marts.dim_customers").fetchall()
        }
    card = re.search(r'data-kpi="customers">.*?<span class="value">([^<]*)</span>', html)
    assert card.group(1) == f"{customers:,}"
    assert not any(key in html for key in keys)
    # One as-of day computed, no exports configured: those sections say so.
    assert "No earlier snapshot to compare" in html
    assert "No segment files were exported" in html
    # The run's materialisation of report/customer_report carries the page, KPIs and charts.
    metadata = report_materialization(END).metadata
    assert metadata["report"].value == str(page)
    assert metadata["customers"].value == customers
    charts = {k[len("chart_") :]: v.value for k, v in metadata.items() if k.startswith("chart_")}
    assert set(charts) == set(re.findall(r'data-chart="([^"]+)"', html))
    assert set(charts) >= REPORT_CHARTS
    assert all("](data:image/png;base64," in markdown for markdown in charts.values())


def test_the_customer_report_renders_in_a_real_browser(clean: Project):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    page_file = clean.folder / "reports" / f"customer_report_{END}.html"
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium), args=["--headless", "--no-sandbox"]
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
            page.on(
                "console",
                lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None,
            )
            # Self-contained: nothing is fetched beyond the file itself.
            page.on(
                "request",
                lambda r: (
                    problems.append(f"request: {r.url}")
                    if not r.url.startswith(("file:", "data:"))
                    else None
                ),
            )
            page.goto(page_file.as_uri(), wait_until="load")
            headings = page.locator("h2").all_inner_texts()
            charts = page.evaluate(
                """() => [...document.querySelectorAll('[data-chart]')].map(e => {
                    const box = e.getBoundingClientRect();
                    const drawn = e.tagName === 'IMG'
                        ? e.complete && e.naturalWidth > 0
                        : e.querySelectorAll('path, rect, text').length > 10;
                    return {id: e.dataset.chart, width: box.width, height: box.height, drawn};
                })"""
            )
            page.screenshot(path=str(ARTIFACTS / f"customer_report_{END}.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert headings == REPORT_SECTIONS
    assert {c["id"] for c in charts} >= REPORT_CHARTS
    for chart in charts:
        assert chart["width"] > 100 and chart["height"] > 50 and chart["drawn"], chart


def planned_events(run: dg.DagsterRun) -> list:
    with dg.DagsterInstance.get() as instance:
        records = instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        )
    return [record.dagster_event.event_specific_data for record in records]


def test_a_range_is_planned_once_per_asset_and_a_night_per_day(clean: Project):
    """Loading history plans each asset once for the whole range (one event per asset and day
    was about 8,000 events, 100 s, for two years); a night's run still plans its one day, so a
    failed night marks its day failed in the UI."""
    assert clean.run.returncode == 0, clean.run.stderr[-3000:]
    with dg.DagsterInstance.get() as instance:
        (history,) = instance.get_runs(dg.RunsFilter(tags={RANGE_START_TAG: START}), limit=1)
        (night,) = instance.get_runs(dg.RunsFilter(tags={PARTITION_TAG: END}), limit=1)
    loaded_days = (date.fromisoformat(END) - date.fromisoformat(START)).days
    planned = planned_events(history)
    assets = {event.asset_key for event in planned}
    assert len(assets) >= 5 and len(planned) == len(assets)
    for event in planned:
        assert event.partition is None
        days = event.partitions_subset.get_partition_keys()
        assert (days[0], len(days)) == (START, loaded_days)
    nightly = planned_events(night)
    assert len(nightly) == len({event.asset_key for event in nightly}) > len(assets)
    assert {event.partition for event in nightly} == {END}
    assert all(event.partitions_subset is None for event in nightly)


def test_net_revenue_reconciles_to_the_landing_files_to_the_cent(clean: Project):
    expected = pos_net_revenue(clean.landing) + shopify_net_revenue(clean.landing)
    with clean.connect() as con:
        (net,) = con.execute("select sum(net_amount) from marts.fct_transactions").fetchone()
        by_source = dict(
            con.execute(
                "select source, sum(net_amount) from marts.fct_transactions group by 1"
            ).fetchall()
        )
    assert Decimal(net) == expected
    assert Decimal(by_source["pos"]) == pos_net_revenue(clean.landing)
    assert Decimal(by_source["shopify"]) == shopify_net_revenue(clean.landing)


def test_clean_data_loads_every_row(clean: Project):
    with clean.connect() as con:
        (quarantined,) = con.execute("select sum(rows_quarantined) from ops.ingest_log").fetchone()
    assert quarantined == 0


def test_running_the_same_range_or_day_twice_leaves_identical_tables(clean: Project):
    with clean.connect() as con:
        before = all_tables(con)
    again = loyalty("run", "--config", str(clean.config), "--start", START, "--end", END)
    assert again.returncode == 0, again.stderr[-3000:]
    with clean.connect() as con:
        assert all_tables(con) == before
    snapshots = []
    for _ in range(2):
        day = loyalty("run", "--config", str(clean.config), "--date", "2025-02-14")
        assert day.returncode == 0, day.stderr[-3000:]
        with clean.connect() as con:
            snapshots.append(all_tables(con))
    assert snapshots[0] == snapshots[1]
    # The day adds its own analytics (as of 2025-02-14) and changes nothing else.
    unchanged = {t: rows for t, rows in snapshots[0].items() if not is_as_of_output(t)}
    assert unchanged == {t: rows for t, rows in before.items() if not is_as_of_output(t)}
    for table in ("analytics.customer_rfm", "pii.customer_contactability"):
        assert set(before[table]) < set(snapshots[0][table]), f"{table} lost the rows of {END}"
    with clean.connect() as con:
        as_of = {
            d
            for (d,) in con.execute(
                "select distinct as_of_date::varchar from analytics.customer_rfm"
            ).fetchall()
        }
    assert as_of == {END, "2025-02-14"}


# --- analytics -------------------------------------------------------------------------------------


def lifetimes_summary(con: duckdb.DuckDBPyConnection, as_of: str, time_unit: str) -> pd.DataFrame:
    """lifetimes' own summary of the purchases analytics see as of the day, built with pandas.

    A purchase is an order of a known customer on or before the day, valued at its
    non-prescription lines net of what was returned by the end of the day, when positive.
    """
    from lifetimes.utils import summary_data_from_transaction_data

    lines = con.execute("select * from marts.fct_transaction_lines").df()
    day = pd.Timestamp(as_of)
    seen = lines[
        lines.customer_key.notna()
        & (pd.to_datetime(lines.order_date) <= day)
        & (pd.to_datetime(lines.event_date) <= day)
        & ~lines.is_prescription.astype(bool)
    ]
    orders = seen.groupby(["customer_key", "transaction_id", "order_date"], as_index=False)[
        "line_amount"
    ].sum()
    orders["line_amount"] = orders.line_amount.astype(float)
    orders = orders[orders.line_amount > 0]
    return summary_data_from_transaction_data(
        orders,
        "customer_key",
        "order_date",
        monetary_value_col="line_amount",
        observation_period_end=as_of,
        freq="D",
        freq_multiplier=7 if time_unit == "W" else 1,
    )


def assert_rfm_matches_lifetimes(
    con: duckdb.DuckDBPyConnection, as_of: str, time_unit: str
) -> None:
    ours = (
        con.execute(
            "select customer_key, frequency, recency, t, monetary_value from analytics.customer_rfm "
            "where as_of_date = ?",
            [as_of],
        )
        .df()
        .set_index("customer_key")
        .sort_index()
    )
    theirs = lifetimes_summary(con, as_of, time_unit).sort_index()
    assert list(ours.index) == list(theirs.index)
    assert (ours.frequency.to_numpy() == theirs.frequency.to_numpy()).all()
    for ours_column, theirs_column in (("recency", "recency"), ("t", "T")):
        difference = (ours[ours_column].astype(float) - theirs[theirs_column]).abs().max()
        assert difference < 1e-9, ours_column
    assert (ours.monetary_value.astype(float) - theirs.monetary_value).abs().max() < 0.005


def test_rfm_summary_equals_lifetimes_own_in_weeks_and_days(clean: Project):
    with clean.connect() as con:
        assert_rfm_matches_lifetimes(con, END, "W")
        segments = {
            s
            for (s,) in con.execute(
                "select distinct rfm_segment from analytics.customer_rfm"
            ).fetchall()
        }
        tiers = {
            t
            for (t,) in con.execute(
                "select distinct value_tier from analytics.customer_rfm"
            ).fetchall()
        }
    assert None not in segments and len(segments) >= 6
    assert tiers == {"gold", "silver", "bronze", "wood"}
    clean.config.write_text(clean.config.read_text() + "clv: {time_unit: D}\n", encoding="utf-8")
    rerun = loyalty("run", "--config", str(clean.config), "--date", END)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    with clean.connect() as con:
        assert_rfm_matches_lifetimes(con, END, "D")


def test_a_history_of_month_ends_gives_segment_history_and_transitions(clean: Project):
    history = loyalty("history", "--config", str(clean.config), "--start", START, "--end", END)
    assert history.returncode == 0, history.stderr[-3000:]
    assert (
        "Analytics as of 4 days: 2025-01-31, 2025-02-28, 2025-03-31, 2025-04-30" in history.stderr
    )
    with clean.connect() as con:
        days = {
            d
            for (d,) in con.execute(
                "select distinct as_of_date::varchar from analytics.customer_segment_history"
            ).fetchall()
        }
        assert {"2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"} <= days
        on_march_31 = con.execute(
            "select count(*) from analytics.customer_segment_history "
            "where as_of_date = '2025-03-31' and rfm_segment is not null"
        ).fetchone()[0]
        moved, stayed, arrived = con.execute(
            "select sum(customers) filter (where not is_unchanged and from_value is not null "
            "and to_value is not null), "
            "sum(customers) filter (where is_unchanged), "
            "sum(customers) filter (where from_value is null and to_value is not null) "
            "from analytics.segment_transitions where dimension = 'rfm_segment' "
            "and as_of_date = '2025-03-31' and previous_as_of_date = '2025-02-28'"
        ).fetchone()
    assert moved > 0 and stayed > 0 and arrived > 0
    # Everyone with a segment on 31 March came from somewhere: a segment, or none before.
    assert moved + stayed + arrived == on_march_31
