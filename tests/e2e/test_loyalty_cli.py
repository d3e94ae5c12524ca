"""The `loyalty` command as a user runs it: generate data, run the pipeline, read the marts.

Numbers are checked against independent computations on the landing files (pandas and json),
never against the pipeline's own tables.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pandas as pd
import pytest
from warehouse_snapshot import all_tables, is_as_of_output

from dagster_project.definitions import ANALYTICS_JOB, INGEST_JOB
from dagster_project.lib.quality import load_suite, suites

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, END = "2025-01-01", "2025-04-30"


def loyalty(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        check=False,
    )


def write_config(folder: Path, extra: str = "") -> Path:
    config = folder / "loyalty.yml"
    config.write_text(
        f"timezone: Europe/Madrid\nstart_date: {START}\nlanding_dir: landing\n"
        f"warehouse: {{path: warehouse.duckdb}}\n{extra}",
        encoding="utf-8",
    )
    return config


@dataclass(frozen=True)
class Project:
    folder: Path
    config: Path
    run: subprocess.CompletedProcess[str]

    @property
    def landing(self) -> Path:
        return self.folder / "landing"

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.folder / "warehouse.duckdb"), read_only=True)


def generated_project(folder: Path, *extra_args: str) -> Project:
    made = loyalty(
        "generate",
        "--out",
        str(folder / "landing"),
        "--customers",
        "400",
        "--start",
        START,
        "--end",
        END,
        "--seed",
        "11",
        *extra_args,
    )
    assert made.returncode == 0, made.stderr
    config = write_config(folder)
    return Project(folder, config, loyalty("run", "--config", str(config)))


@pytest.fixture(scope="module")
def clean(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return generated_project(tmp_path_factory.mktemp("clean"))


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return generated_project(tmp_path_factory.mktemp("dirty"), "--dirty-rate", "0.05")


# --- independent computations on the landing files -------------------------------------------


def pos_net_revenue(landing: Path) -> Decimal:
    total = Decimal(0)
    for path in sorted(landing.glob("pos/tickets/date=*/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        total += sum((Decimal(v) for v in frame["line_amount"]), Decimal(0))
    return total


def shopify_net_revenue(landing: Path) -> Decimal:
    """Latest version of each order, cancelled ones left out: subtotal minus refunded lines."""
    latest: dict[int, dict] = {}
    for path in sorted(landing.glob("ecommerce/orders/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            order = json.loads(line)
            updated = datetime.fromisoformat(order["updated_at"])
            if order["id"] not in latest or updated >= datetime.fromisoformat(
                latest[order["id"]]["updated_at"]
            ):
                latest[order["id"]] = order
    total = Decimal(0)
    for order in latest.values():
        if order.get("cancelled_at"):
            continue
        refunded = sum(
            (
                Decimal(item["subtotal"])
                for refund in order.get("refunds") or []
                for item in refund["refund_line_items"]
            ),
            Decimal(0),
        )
        total += Decimal(order["subtotal_price"]) - refunded
    return total


def records_in_file(path: Path) -> int:
    """Records a file holds, counted with Python's csv module / as non-blank JSON lines."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return sum(1 for line in text.splitlines() if line.strip())
    return sum(1 for row in csv.reader(text.splitlines(keepends=True)) if row) - 1


# --- loyalty demo ------------------------------------------------------------------------------------


def test_demo_builds_the_marts_and_they_reconcile_to_the_landing_files(tmp_path: Path):
    demo = loyalty("demo", "--customers", "300", cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Running 2024-01-01 .. 2025-12-31" in demo.stderr
    landing = tmp_path / "data" / "landing"
    assert f"Landing files: {landing}" in demo.stdout
    expected = pos_net_revenue(landing) + shopify_net_revenue(landing)
    with duckdb.connect(str(tmp_path / "data" / "warehouse.duckdb"), read_only=True) as con:
        for table in (
            "dim_customers",
            "fct_transactions",
            "fct_transaction_lines",
            "dim_products",
            "dim_stores",
        ):
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


# --- the clean demo-like run --------------------------------------------------------------------


def test_run_builds_every_mart_and_says_where(clean: Project):
    assert clean.run.returncode == 0, clean.run.stderr[-3000:]
    assert f"Running {START} .. {END}" in clean.run.stderr
    assert "Warehouse:" in clean.run.stdout
    with clean.connect() as con:
        for table in (
            "dim_customers",
            "fct_transactions",
            "fct_transaction_lines",
            "dim_products",
            "dim_stores",
        ):
            assert con.execute(f"select count(*) from marts.{table}").fetchone()[0] > 0, table
            assert f"marts.{table}" in clean.run.stdout
        assert con.execute("select count(*) from pii.customer_contacts").fetchone()[0] > 0
    # dbt's manifest and parse state sit beside the warehouse, not in the dbt project, and the
    # artefacts folder of each successful dbt invocation is gone (none pile up night after night).
    dbt_target = clean.folder / "dbt_target"
    assert (dbt_target / "manifest.json").exists()
    assert (dbt_target / "partial_parse.msgpack").exists()
    assert [p.name for p in dbt_target.iterdir() if p.is_dir()] == []


def guarded_tables(schema: str) -> set[str]:
    """The tables of `schema` that a suite in expectations/ guards."""
    return {
        name
        for name, path in suites().items()
        if load_suite(path)["meta"]["guards"].startswith(f"{schema}/")
    }


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
        # Campaign members come with exports, which this configuration has none of.
        for table in analytics - {"campaign_members"}:
            rows = con.execute(
                f"select count(*) from analytics.{table} where as_of_date = ?", [END]
            ).fetchone()[0]
            assert rows > 0, table
    by_table = suite_evaluations(ANALYTICS_JOB, {"dagster/partition": END})
    assert set(by_table) == analytics | guarded_tables("pii")
    # Ingest checked every raw batch over the whole range (the generic source is not configured).
    raw = suite_evaluations(INGEST_JOB, {"dagster/asset_partition_range_start": START})
    assert set(raw) == guarded_tables("raw") - {"transactions"}
    assert raw["pos_tickets"].metadata["days"].value == f"{START}..{END}"
    # …and the size of each event source's days (warnings only; this data is regular).
    volume = suite_evaluations(
        INGEST_JOB, {"dagster/asset_partition_range_start": START}, check_name="volume"
    )
    assert set(volume) == {"pos_tickets", "pos_members", "shopify_orders", "shopify_customers"}
    assert all(v.severity == dg.AssetCheckSeverity.WARN for v in volume.values())
    # Each run also writes the GX Data Docs site, ingest's suites and the analytics' alike.
    index = clean.folder / "reports" / "data_docs" / "index.html"
    site = index.read_text(encoding="utf-8")
    assert "pos_tickets" in site and "customer_rfm" in site
    assert by_table["customer_rfm"].metadata["data_docs"].value == index.as_uri()
    for table, evaluation in {**raw, **by_table}.items():
        failed_errors = [
            o
            for o in evaluation.metadata["expectations"].value
            if not o["success"] and o["severity"] == "error"
        ]
        assert failed_errors == [], table


# --- the customer report of the run --------------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
REPORT_SECTIONS = [
    "Headline KPIs and their trend",
    "Segments and tiers",
    "Revenue concentration (Pareto)",
    "Cohort retention",
    "Lifecycle",
    "Customer lifetime value",
    "Data quality",
    "Exports",
]
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
    if not CHROMIUM.exists():
        message = "Debian's chromium is not installed at /usr/bin/chromium (make browser)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    page_file = clean.folder / "reports" / f"customer_report_{END}.html"
    ARTIFACTS.mkdir(exist_ok=True)
    problems: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--headless", "--no-sandbox"]
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


# --- dirty data: nothing lost --------------------------------------------------------------------


def test_dirty_data_every_row_is_loaded_or_quarantined(dirty: Project):
    assert dirty.run.returncode == 0, dirty.run.stderr[-3000:]
    with dirty.connect() as con:
        log = con.execute(
            "select source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from ops.ingest_log group by 1"
        ).fetchall()
        reasons = dict(
            con.execute(
                "select reason_code, count(*) from (select reason_code from quarantine.pos_tickets "
                "union all select reason_code from quarantine.pos_members "
                "union all select reason_code from quarantine.shopify_orders) group by 1"
            ).fetchall()
        )
    files = {p.relative_to(dirty.landing).as_posix(): p for p in dirty.landing.rglob("date=*/*.*")}
    assert {name for name, *_ in log} == set(files)
    for name, read, loaded, quarantined in log:
        assert read == loaded + quarantined, name
        assert read == records_in_file(files[name]), name
    assert sum(q for *_, q in log) > 0
    assert {"bad_type", "duplicate_row", "missing_required"} <= set(reasons)


# --- the generic source ---------------------------------------------------------------------------


def test_a_flat_sales_file_with_its_own_columns_flows_to_the_marts(tmp_path: Path):
    sales = tmp_path / "landing" / "sales"
    sales.mkdir(parents=True)
    (sales / "ventas.csv").write_text(
        "Cliente;Pedido;Fecha;Importe;Tienda\n"
        "17850.0;A1;05/01/2025 10:15;12,50;\n"  # decimal comma: quarantined as bad_type
        "17850.0;A2;05/01/2025 11:00;20.00;T1\n"
        "17850;A3;07/02/2025 09:30;-5.00;T1\n"
        "13047;B1;06/01/2025 18:00;31.45;T2\n"
        ";C1;08/01/2025 12:00;9.99;T2\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        "sources:\n  transactions:\n    path: sales/*.csv\n"
        "    columns: {customer_id: Cliente, order_id: Pedido, ordered_at: Fecha, amount: Importe,"
        " store_id: Tienda}\n    timestamp_format: '%d/%m/%Y %H:%M'\n",
    )
    run = loyalty("run", "--config", str(config))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Running 2025-01-05 .. 2025-02-07" in run.stderr
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    transactions = con.execute(
        "select transaction_id, net_amount, customer_key is null from marts.fct_transactions order by 1"
    ).fetchall()
    assert [(t, Decimal(n), anonymous) for t, n, anonymous in transactions] == [
        ("generic:A2", Decimal("20.00"), False),
        ("generic:A3", Decimal("-5.00"), False),
        ("generic:B1", Decimal("31.45"), False),
        ("generic:C1", Decimal("9.99"), True),
    ]
    # 17850.0 and 17850 are one customer; the anonymous sale counts in revenue only.
    assert con.execute("select count(*) from marts.dim_customers").fetchone() == (2,)
    assert con.execute(
        "select reason_code, source_line from quarantine.transactions"
    ).fetchall() == [("bad_type", 2)]


def test_the_minimal_config_of_the_design_works_as_it_stands(
    tmp_path: Path, minimal_config_text: str
):
    (tmp_path / "loyalty.yml").write_text(minimal_config_text, encoding="utf-8")
    sales = tmp_path / "landing" / "sales"
    sales.mkdir(parents=True)
    (sales / "2025-03.csv").write_text(
        "InvoiceNo,InvoiceDate,CustomerID,Total\n"
        "1001,2025-03-03 10:00:00,C1,10.10\n1001,2025-03-03 10:00:00,C1,5.05\n"
        "1002,2025-03-04 12:30:00,C2,7.00\n1003,2025-03-09 09:00:00,C1,2.25\n",
        encoding="utf-8",
    )
    run = loyalty("run", cwd=tmp_path)  # ./loyalty.yml, every day delivered
    assert run.returncode == 0, run.stderr[-3000:]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute(
        "select count(*), sum(net_amount) from marts.fct_transactions"
    ).fetchone() == (
        3,
        Decimal("24.40"),
    )
    assert con.execute(
        "select orders_count from marts.dim_customers order by orders_count"
    ).fetchall() == [(1,), (2,)]


# --- errors a user can make -----------------------------------------------------------------------


def test_bad_dates_and_bad_config_are_one_line_errors(tmp_path: Path):
    config = write_config(tmp_path)
    bad_date = loyalty("run", "--config", str(config), "--date", "2025-13-01")
    assert (
        bad_date.returncode == 2
        and "'2025-13-01' is not a date in the form YYYY-MM-DD" in bad_date.stderr
    )
    reversed_range = loyalty(
        "run", "--config", str(config), "--start", "2025-03-02", "--end", "2025-03-01"
    )
    assert reversed_range.returncode == 1 and "is after --end" in reversed_range.stderr
    config.write_text(config.read_text() + "colour: blue\n", encoding="utf-8")
    unknown = loyalty("run", "--config", str(config))
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == f"loyalty: {config}: colour: unknown key"


def test_a_file_missing_a_required_column_stops_the_run_naming_the_file(tmp_path: Path):
    folder = tmp_path / "landing" / "pos" / "tickets" / "date=2025-01-02"
    folder.mkdir(parents=True)
    (folder / "tickets.csv").write_text("ticket_id,line_number\nT1,1\n", encoding="utf-8")
    run = loyalty("run", "--config", str(write_config(tmp_path)))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("loyalty: run 2025-01-02..2025-01-02 failed: step raw__pos_tickets:")
    assert "pos/tickets/date=2025-01-02/tickets.csv: missing required columns" in last


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


def test_outside_demo_mode_a_run_refuses_the_documented_demo_key(tmp_path: Path):
    from dagster_project.lib.privacy import DEMO_KEY

    config = write_config(tmp_path)
    (tmp_path / "landing").mkdir()
    for key in (None, DEMO_KEY):
        env = {k: v for k, v in os.environ.items() if k != "LOYALTY_PSEUDONYM_KEY"}
        if key:
            env["LOYALTY_PSEUDONYM_KEY"] = key
        refused = subprocess.run(
            [LOYALTY, "run", "--config", str(config), "--date", START],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert refused.returncode == 2
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("loyalty: LOYALTY_PSEUDONYM_KEY is not set (or holds the documented")
        assert f"set privacy: {{demo: true}} in {config}" in line
    # Declared synthetic, the same run goes ahead with the demo key, and says so.
    config.write_text(config.read_text() + "privacy: {demo: true}\n", encoding="utf-8")
    allowed = subprocess.run(
        [LOYALTY, "run", "--config", str(config), "--date", START],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "warning: LOYALTY_PSEUDONYM_KEY is not set" in allowed.stderr
