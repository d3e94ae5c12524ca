"""The report page: every section, every chart the data allows, nothing fetched from anywhere,
no customer on it; a sentence where there is no data; written atomically, `latest` never moved
back by an older day."""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import AS_OF, SmallWarehouse

from dagster_project.lib.report.build import (
    LATEST,
    build_report,
    chart_markdown,
    report_name,
    write_report,
)
from dagster_project.lib.report.page import SECTION_TITLES, SECTIONS, render_page
from dagster_project.lib.warehouse import ensure_warehouse_tables

ALL_CHARTS = {
    "monthly_trend",
    "kpi_history",
    "segments",
    "tiers",
    "pareto",
    "cohorts",
    "lifecycle_flow",
    "lifecycle_stages",
    "clv_by_tier",
    "clv_tracking",
    "quarantine",
    "exports",
    "plans",
}
# Every section the page defines, in its order.
HEADINGS = tuple(SECTION_TITLES[section_id] for section_id, _, _ in SECTIONS)


@pytest.fixture(scope="module")
def report(warehouse: SmallWarehouse):
    with warehouse.connect() as con:
        return build_report(con, AS_OF, warehouse.reports_dir)


def external_references(html: str) -> list[str]:
    """src, href and CSS url() values that would make the browser fetch something."""
    values = re.findall(r'\b(?:src|href|xlink:href)\s*=\s*"([^"]*)"', html)
    values += re.findall(r"url\(\s*['\"]?([^'\")]+)", html)
    return [v for v in values if not v.startswith(("#", "data:"))]


def test_every_section_and_every_chart_is_on_the_page(report):
    html = report.html
    assert set(report.charts) == ALL_CHARTS
    shown = re.findall(r'data-chart="([^"]+)"', html)
    assert Counter(shown) == Counter(ALL_CHARTS)  # each once
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert [f'id="{sid}"' in html for sid, _, _ in SECTIONS] == [True] * len(SECTIONS)
    assert 'class="empty"' not in html  # every section had data


def test_the_page_is_self_contained_and_names_no_customer(report, warehouse: SmallWarehouse):
    html = report.html
    assert "http://" not in html and "https://" not in html
    assert external_references(html) == []
    assert "<script" not in html
    assert not any(key in html for key in warehouse.rfm["customer_key"])
    # Several inline SVGs on one page: their ids must not collide.
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids))
    for target in re.findall(r"url\(#([^)]+)\)", html):
        assert target in ids


def test_the_numbers_on_the_page_are_the_days(report):
    html = report.html
    # KPI cards: the day's row, the change against the previous day computed (40 → 50).
    assert re.search(r'data-kpi="customers">.*?<span class="value">50</span>', html)
    assert '<span class="change up">+25.0 %</span>' in html
    assert "against the analytics as of 2025-02-28" in html
    concentration = report.data.concentration
    top, customers = int(concentration["top_customers"]), int(concentration["customers"])
    assert f"The top {top} of {customers} customers (20 %)" in html
    assert "Lifecycle flow, 2025-02-28 to 2025-03-20" in html
    # Where each RFM segment is in its life: the day's profiles, largest first.
    assert (
        '<td>Champions</td><td class="num">40</td><td class="num">610</td>'
        '<td class="num">1,450</td><td>active (90 %)</td>'
    ) in html
    assert '<td>Promising</td><td class="num">99</td>' not in html  # a later day's profile
    assert '<td>holdout forecast by</td><td class="num">bgnbd fitted on the calibration' in html
    assert "k_part01" not in html  # file names are not listed, counts are
    # Exports: klaviyo's upsert file came in two parts (30 + 12 people) beside its opt-out file
    # (2 people) and its leavers file (1).
    cells = '<td>champions</td><td>klaviyo</td><td class="num">4</td><td class="num">42</td>'
    assert cells + '<td class="num">2</td><td class="num">1</td>' in html


def test_the_plans_show_the_days_progress_responses_and_recommendations(report):
    html = report.html
    plans = report.data.plans
    # The chart follows each plan up to the day, never a later one (999 on LATER).
    assert sorted(plans.progress["as_of_date"].astype(str).unique()) == ["2025-02-28", "2025-03-20"]
    assert "999.00" not in html
    # grow_champions is ahead of its line (137 against 130), win_back_gold behind (104).
    assert re.search(
        r"<td>grow_champions</td>.*?<td class=\"num\">137.00</td>"
        r"<td class=\"num\">130.00</td><td>on track</td>",
        html,
    )
    assert re.search(r"<td>win_back_gold</td>.*?<td>behind</td>", html)
    assert "345.00 (120.00 to 570.00)" in html and "13.80 (revenue)" in html
    # Responses: 40 people, 4 held out; treated 36 of whom 12 bought (every third, not tenth).
    assert re.search(r"<td>treated</td><td class=\"num\">36</td><td class=\"num\">12</td>", html)
    # Recommendations: the group of 3 is under the minimum group size, so only hygiene shows.
    assert "Higiene bucal" in html and "Gafas de sol" not in html
    assert "62.0 %" in html and "better than the popularity baseline" in html


def test_the_same_day_renders_the_same_bytes(report, warehouse: SmallWarehouse):
    with warehouse.connect() as con:
        again = build_report(con, AS_OF, warehouse.reports_dir)
    assert again.html == report.html


def test_values_from_the_warehouse_and_configuration_are_escaped(report):
    segments = report.data.segments.copy()
    segments.loc[0, "group_name"] = "<img src=x onerror=alert(1)>"
    data = dataclasses.replace(report.data, segments=segments)
    html = render_page(data, report.charts)
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_each_chart_goes_to_dagster_as_markdown_with_its_png(report):
    markdown = chart_markdown(report.charts["pareto"])
    assert markdown.startswith("**Pareto curve**")
    assert "](data:image/png;base64,iVBORw0KGgo" in markdown


def test_a_day_without_data_says_so_in_every_section(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_warehouse_tables(con)
        empty = build_report(con, date(2025, 1, 1), tmp_path)
    assert empty.charts == {}
    sentences = re.findall(r'<p class="empty">(.*?)</p>', empty.html)
    assert len(sentences) >= len(HEADINGS)
    assert any("No KPIs as of 2025-01-01" in s for s in sentences)
    assert any("No earlier snapshot" in s for s in sentences)
    assert any("No segment files were exported" in s for s in sentences)
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in empty.html


def test_reports_are_written_whole_and_latest_only_moves_forward(report, tmp_path: Path):
    older = dataclasses.replace(report, as_of=date(2025, 3, 1), html="older")
    newer = dataclasses.replace(report, as_of=date(2025, 4, 1), html="newer")
    first = write_report(report, tmp_path)
    assert first.path == tmp_path / report_name(AS_OF)
    assert first.latest == tmp_path / LATEST
    assert (tmp_path / LATEST).read_text(encoding="utf-8") == report.html
    assert write_report(older, tmp_path).latest is None  # a backfill of a past day
    assert (tmp_path / LATEST).read_text(encoding="utf-8") == report.html
    assert (tmp_path / "customer_report_2025-03-01.html").read_text(encoding="utf-8") == "older"
    assert write_report(newer, tmp_path).latest == tmp_path / LATEST
    assert (tmp_path / LATEST).read_text(encoding="utf-8") == "newer"
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "customer_report_2025-03-01.html",
        "customer_report_2025-03-20.html",
        "customer_report_2025-04-01.html",
        LATEST,
    ]
