"""The report of a day: read the data, draw what there is to draw, render the page, write it.

`<reports>/customer_report_<as_of>.html` is written under a temporary name and renamed into
place, and `customer_report_latest.html` is replaced the same way when the day is the newest one
reported (a backfill of past days never moves it back). Nothing on the page depends on when it
was written, so a re-run writes the same bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
from matplotlib.figure import Figure

from dagster_project.lib.report import charts as draw
from dagster_project.lib.report.data import ReportData, load_report_data
from dagster_project.lib.report.page import Chart, render_page

REPORT_PREFIX = "customer_report_"
LATEST = f"{REPORT_PREFIX}latest.html"
_DATED = re.compile(rf"^{REPORT_PREFIX}(\d{{4}}-\d{{2}}-\d{{2}})\.html$")


def report_name(as_of: date) -> str:
    return f"{REPORT_PREFIX}{as_of.isoformat()}.html"


@dataclass(frozen=True)
class Report:
    as_of: date
    html: str = field(repr=False)
    charts: dict[str, Chart] = field(repr=False)
    data: ReportData = field(repr=False)


@dataclass(frozen=True)
class ReportFiles:
    path: Path
    latest: Path | None  # None when a newer day's report is already the latest


def _chart(chart_id: str, title: str, make: Callable[[], Figure]) -> Chart:
    figure = make()
    return Chart(chart_id, title, draw.to_png(figure), draw.to_svg(figure, chart_id, title))


def draw_charts(data: ReportData) -> dict[str, Chart]:
    """Every chart the data allows, by id; a section without data has none."""
    charts: dict[str, Chart] = {}

    def add(chart_id: str, title: str, make: Callable[[], Figure]) -> None:
        charts[chart_id] = _chart(chart_id, title, make)

    if not data.monthly.empty:
        add("monthly_trend", "Monthly trend", lambda: draw.monthly_trend_chart(data.monthly))
    if len(data.kpi_history) >= 2:
        add("kpi_history", "KPIs over time", lambda: draw.kpi_history_chart(data.kpi_history))
    if not data.segments.empty:
        add(
            "segments",
            "RFM segments: share of customers and of revenue",
            lambda: draw.group_share_chart(data.segments),
        )
        add(
            "tiers",
            "Value tiers: share of customers and of revenue",
            lambda: draw.group_share_chart(data.tiers, tiers=True),
        )
    if not data.pareto.empty:
        add(
            "pareto",
            "Pareto curve",
            lambda: draw.pareto_chart(data.pareto, data.concentration),
        )
    if not data.cohorts.empty:
        add("cohorts", "Retention by cohort", lambda: draw.cohort_heatmap(data.cohorts))
    if data.flow is not None:
        add(
            "lifecycle_flow",
            f"Lifecycle flow, {data.flow.previous_as_of} to {data.flow.as_of}",
            lambda: draw.lifecycle_flow_chart(data.flow),
        )
    if not data.stages.empty:
        add(
            "lifecycle_stages",
            f"Customers per lifecycle stage on {data.as_of}",
            lambda: draw.lifecycle_stages_chart(data.stages),
        )
    if not data.clv_values.empty:
        add(
            "clv_by_tier",
            "Predicted CLV by value tier",
            lambda: draw.clv_by_tier_chart(data.clv_values, data.clv_summary),
        )
    titles = {
        "tracking": "CLV model: holdout tracking",
        "calibration_vs_holdout": "CLV model: calibration vs holdout",
    }
    for name, path in data.clv_plots.items():
        charts[f"clv_{name}"] = Chart(f"clv_{name}", titles[name], path.read_bytes())
    if not data.quarantine.empty:
        add(
            "quarantine",
            "Quarantined rows by source and reason",
            lambda: draw.quarantine_chart(data.quarantine),
        )
    if not data.exports.empty:
        add(
            "exports",
            "Segment exports",
            lambda: draw.exports_chart(data.campaigns, data.exports),
        )
    if data.plans is not None and not data.plans.progress.empty:
        add(
            "plans",
            "Plans: objective against actual",
            lambda: draw.plan_progress_chart(data.plans.progress),
        )
    return charts


def build_report(con: duckdb.DuckDBPyConnection, as_of: date, reports_dir: Path) -> Report:
    """The report of `as_of` from the warehouse `con` (read only; the CLV plots from
    `reports_dir`)."""
    data = load_report_data(con, as_of, reports_dir)
    charts = draw_charts(data)
    return Report(as_of, render_page(data, charts), charts, data)


def _replace(path: Path, text: str) -> None:
    incoming = path.with_name(f".{path.name}.incoming-{os.getpid()}")
    incoming.write_text(text, encoding="utf-8")
    os.replace(incoming, path)


def write_report(report: Report, reports_dir: Path) -> ReportFiles:
    """Write the dated page and, when no later day has a report, the `latest` page."""
    reports_dir.mkdir(parents=True, exist_ok=True)
    path = reports_dir / report_name(report.as_of)
    _replace(path, report.html)
    dated = [m.group(1) for p in reports_dir.iterdir() if (m := _DATED.match(p.name))]
    if max(dated) > report.as_of.isoformat():
        return ReportFiles(path, None)
    latest = reports_dir / LATEST
    _replace(latest, report.html)
    return ReportFiles(path, latest)


def chart_markdown(chart: Chart) -> str:
    """A chart as Markdown with its PNG inline, as Dagster's UI shows metadata."""
    return f"**{chart.title}**\n\n![{chart.chart_id}]({draw.png_data_uri(chart.png)})"
