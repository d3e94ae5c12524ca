"""The report's HTML: one self-contained page (styles inline, charts inline SVG or data-URI
images, no script, nothing fetched), rendered with the standard library so the page needs no
template engine. Every value from the warehouse or the configuration is escaped.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

import pandas as pd

from dagster_project.lib.report.charts import png_data_uri
from dagster_project.lib.report.data import NO_VALUE, ReportData
from dagster_project.lib.report.plans import TOP_RECOMMENDATIONS, PlansData

PAGE_TITLE = "Customer report"


@dataclass(frozen=True)
class Chart:
    """A chart of the report: `svg` to inline, or a PNG (`png`, e.g. the CLV holdout plots) to
    show as an image. `png` is also what Dagster's metadata shows."""

    chart_id: str
    title: str
    png: bytes
    svg: str | None = None


# --- formatting ----------------------------------------------------------------------------------


def _is_missing(value: Any) -> bool:
    # None, NaN, and pandas' NA and NaT (nullable columns read from the warehouse).
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def count(value: Any) -> str:
    return "–" if _is_missing(value) else f"{int(value):,}"


def percent(value: Any, decimals: int = 1) -> str:
    return "–" if _is_missing(value) else f"{float(value) * 100:.{decimals}f} %"


def amount(value: Any) -> str:
    return "–" if _is_missing(value) else f"{float(value):,.2f}"


def number(value: Any, decimals: int = 2) -> str:
    return "–" if _is_missing(value) else f"{float(value):,.{decimals}f}"


@dataclass(frozen=True)
class KpiSpec:
    name: str
    label: str
    kind: str  # count | share | amount
    higher_is_better: bool = True


KPI_SPECS = (
    KpiSpec("customers", "Customers", "count"),
    KpiSpec("active_customers_90d", "Active customers (90 days)", "count"),
    KpiSpec("new_customers_30d", "New customers (30 days)", "count"),
    KpiSpec("repeat_purchase_rate", "Repeat purchase rate", "share"),
    KpiSpec("churn_rate_30d", "Churn rate (30 days)", "share", higher_is_better=False),
    KpiSpec("average_order_value_30d_amount", "Average order value (30 days)", "amount"),
    KpiSpec("net_revenue_30d_amount", "Net revenue (30 days)", "amount"),
    KpiSpec("top_revenue_share", "Revenue from the top customers", "share"),
    KpiSpec("average_predicted_clv_amount", "Average predicted CLV", "amount"),
)


def kpi_value(spec: KpiSpec, value: Any) -> str:
    if spec.kind == "count":
        return count(value)
    if spec.kind == "share":
        return percent(value)
    return amount(value)


def kpi_change(spec: KpiSpec, value: Any, previous: Any) -> tuple[str, str]:
    """The change since the previous as-of day, and its tone: `up`/`down` (good/bad), `flat`."""
    if _is_missing(value) or _is_missing(previous):
        return "", "flat"
    difference = float(value) - float(previous)
    if spec.kind == "share":
        text = f"{difference * 100:+.1f} pts"
    elif float(previous) != 0:
        text = f"{difference / abs(float(previous)) * 100:+.1f} %"
    else:
        text = f"{difference:+,.0f}"
    if abs(difference) < 1e-12:
        return "no change", "flat"
    better = (difference > 0) == spec.higher_is_better
    return text, "up" if better else "down"


# --- building blocks -----------------------------------------------------------------------------

NUMERIC = ' class="num"'


def _table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], numeric: Sequence[bool] | None = None
) -> str:
    numeric = numeric or [False] * len(headers)
    head = "".join(
        f"<th{NUMERIC if n else ''}>{escape(h)}</th>" for h, n in zip(headers, numeric, strict=True)
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{NUMERIC if n else ''}>{escape(str(c))}</td>"
            for c, n in zip(row, numeric, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _figure(chart: Chart, caption: str = "") -> str:
    if chart.svg is not None:
        body = chart.svg
    else:
        body = (
            f'<img class="chart" data-chart="{escape(chart.chart_id)}" '
            f'alt="{escape(chart.title)}" src="{png_data_uri(chart.png)}">'
        )
    caption_html = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure id="chart-{escape(chart.chart_id)}"><h3>{escape(chart.title)}</h3>'
        f"{body}{caption_html}</figure>"
    )


def _inline(text: str) -> str:
    """Escaped text, `quoted` names (commands, keys, tables) set as code."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


def _empty(sentence: str) -> str:
    return f'<p class="empty">{_inline(sentence)}</p>'


# Each section's heading, by its id (SECTIONS gives the order and the short label of the menu).
SECTION_TITLES = {
    "kpis": "Headline KPIs and their trend",
    "segments": "Segments and tiers",
    "pareto": "Revenue concentration (Pareto)",
    "cohorts": "Cohort retention",
    "lifecycle": "Lifecycle",
    "clv": "Customer lifetime value",
    "quality": "Data quality",
    "exports": "Exports",
    "plans": "Plans",
}


def _section(section_id: str, lead: str, body: str) -> str:
    lead_html = f'<p class="lead">{_inline(lead)}</p>' if lead else ""
    title = SECTION_TITLES[section_id]
    return f'<section id="{section_id}"><h2>{escape(title)}</h2>{lead_html}{body}</section>'


# --- the sections --------------------------------------------------------------------------------


def _kpi_section(data: ReportData, charts: dict[str, Chart]) -> str:
    parts = []
    if data.kpis is None:
        parts.append(
            _empty(
                f"No KPIs as of {data.as_of}: the analytics have not been computed for this day."
            )
        )
    else:
        cards = []
        top_share = (data.concentration or {}).get("top_customer_share")
        for spec in KPI_SPECS:
            value = data.kpis.values.get(spec.name)
            previous = (data.kpis.previous or {}).get(spec.name)
            change, tone = kpi_change(spec, value, previous)
            label = spec.label
            if spec.name == "top_revenue_share" and top_share is not None:
                label = f"Revenue from the top {float(top_share):.0%} of customers"
            change_html = f'<span class="change {tone}">{escape(change)}</span>' if change else ""
            cards.append(
                f'<div class="kpi" data-kpi="{spec.name}"><span class="label">{escape(label)}'
                f'</span><span class="value">{escape(kpi_value(spec, value))}</span>'
                f"{change_html}</div>"
            )
        parts.append(f'<div class="kpis">{"".join(cards)}</div>')
        if data.kpis.previous_as_of:
            parts.append(
                f'<p class="note">Changes are against the analytics as of '
                f"{escape(str(data.kpis.previous_as_of))}, the previous day computed.</p>"
            )
        else:
            parts.append(
                '<p class="note">No earlier day has been computed to compare with '
                "(<code>loyalty history</code> computes past days).</p>"
            )
    if "monthly_trend" in charts:
        parts.append(
            _figure(
                charts["monthly_trend"],
                "Per calendar month, from the cohort table as of this day: customers with a "
                "purchase, first-time customers, and their purchases' net value.",
            )
        )
    else:
        parts.append(_empty("No purchases yet, so no monthly trend."))
    if "kpi_history" in charts:
        parts.append(
            _figure(charts["kpi_history"], "Each point is a day the analytics were computed for.")
        )
    else:
        parts.append(
            _empty(
                "The KPIs' history appears once the analytics have been computed for more than "
                "one day (each daily run adds a day; `loyalty history` computes past ones)."
            )
        )
    return _section("kpis", "", "".join(parts))


def _groups_table(frame: pd.DataFrame, name: str) -> str:
    return _table(
        [name, "customers", "share of customers", "revenue", "share of revenue"],
        (
            (
                r.group_name,
                count(r.customers),
                percent(r.customer_share),
                amount(r.revenue_amount),
                percent(r.revenue_share),
            )
            for r in frame.itertuples()
        ),
        [False, True, True, True, True],
    )


def _segments_section(data: ReportData, charts: dict[str, Chart]) -> str:
    if data.segments.empty:
        body = _empty(f"No customer with a purchase by {data.as_of}: no segments or tiers yet.")
    else:
        body = "".join(
            f'<div class="pair"><div>{_figure(charts[chart_id])}</div>'
            f"<div>{_groups_table(frame, name)}</div></div>"
            for chart_id, frame, name in (
                ("segments", data.segments, "RFM segment"),
                ("tiers", data.tiers, "value tier"),
            )
        )
    return _section(
        "segments",
        "How many customers each RFM segment and value tier holds, and how much of the "
        "revenue they bring (purchases by the day, prescription lines left out).",
        body,
    )


def _pareto_section(data: ReportData, charts: dict[str, Chart]) -> str:
    if "pareto" not in charts:
        body = _empty("No revenue from customers yet, so no Pareto curve.")
    else:
        c = data.concentration or {}
        summary = ""
        if c.get("top_revenue_share") is not None:
            summary = (
                f'<p class="callout">The top {count(c["top_customers"])} of '
                f"{count(c['customers'])} customers ({percent(c['top_customer_share'], 0)}) bring "
                f"{percent(c['top_revenue_share'])} of the revenue "
                f"({amount(c['top_revenue_amount'])} of {amount(c['revenue_amount'])}).</p>"
            )
        body = summary + _figure(charts["pareto"])
    return _section(
        "pareto",
        "Customers ordered by what they spent, largest first: the curve shows the share of "
        "revenue the first x % of them bring.",
        body,
    )


def _cohort_section(data: ReportData, charts: dict[str, Chart]) -> str:
    if "cohorts" not in charts:
        body = _empty("No purchases yet, so no cohorts.")
    else:
        body = _figure(
            charts["cohorts"],
            "Rows: cohorts (month of the first purchase, and its customers). Cells: the share "
            "of the cohort with a purchase n months later; * marks the month in progress.",
        )
    return _section(
        "cohorts",
        "A cohort is the customers whose first purchase fell in a month.",
        body,
    )


def _main_stage(stage: Any, stage_share: Any) -> str:
    if _is_missing(stage):
        return "–"
    return f"{str(stage).replace('_', ' ')} ({percent(stage_share, 0)})"


def _lifecycle_section(data: ReportData, charts: dict[str, Chart]) -> str:
    parts = []
    if "lifecycle_flow" in charts and data.flow is not None:
        flows = data.flow.flows
        moved = int(flows.loc[flows["from_stage"] != flows["to_stage"], "customers"].sum())
        total = int(flows["customers"].sum())
        parts.append(
            f'<p class="callout">{count(moved)} of {count(total)} customers changed stage '
            f"between {escape(str(data.flow.previous_as_of))} and {escape(str(data.as_of))}.</p>"
        )
        parts.append(_figure(charts["lifecycle_flow"]))
    else:
        parts.append(
            _empty(
                f"No earlier snapshot to compare {data.as_of} with: the flow between stages "
                "appears once the analytics have also been computed for an earlier day "
                "(the next daily run, or `loyalty history`)."
            )
        )
    if "lifecycle_stages" in charts:
        parts.append(_figure(charts["lifecycle_stages"]))
    if len(data.segment_life):
        parts.append(
            "<h3>Where each RFM segment is in its life</h3>"
            + _table(
                [
                    "RFM segment",
                    "customers",
                    "tenure so far (days)",
                    "expected to stay (days)",
                    "most are",
                ],
                (
                    (
                        r.segment,
                        count(r.customers),
                        number(r.tenure_days, 0),
                        number(r.remaining_days, 0),
                        _main_stage(r.main_stage, r.main_stage_share),
                    )
                    for r in data.segment_life.itertuples()
                ),
                [False, True, True, True, False],
            )
            + '<p class="note">Tenure: first to last purchase, averaged over the segment\'s '
            "buyers. Expected to stay: the purchase model's expected days still active within "
            "its lifetime horizon (<code>clv.lifetime_horizon_days</code>, five years by "
            "default). Groups too small to describe are left out.</p>"
        )
    return _section(
        "lifecycle",
        "Where customers stand in their life with the shop: prospect, new, active, "
        "reactivated, at risk, lapsed, lost.",
        "".join(parts),
    )


def _holdout_forecast(model: dict[str, Any]) -> str:
    if model.get("holdout_method") == "model":
        return f"{model['model']} fitted on the calibration period"
    status = str(model.get("holdout_status") or "not fitted").replace("_", " ")
    return f"the heuristic ({model['model']} on the calibration period: {status})"


def _clv_model_text(model: dict[str, Any]) -> str:
    if model["method"] == "model":
        how = f"{model['model']}, fitted"
    else:
        how = f"{model['model']} not used ({model['status'].replace('_', ' ')}): heuristic scores"
    message = str(model.get("message") or "").splitlines()[0][:160] if model.get("message") else ""
    rows = [("purchase model", how), ("customers scored", count(model.get("customers")))]
    if message:
        rows.append(("fit", message))
    if model.get("holdout_customers"):
        rows += [
            (
                "holdout",
                f"{model['holdout_days']} days after {model['calibration_end_date']:%Y-%m-%d}, "
                f"{count(model['holdout_customers'])} customers",
            ),
            ("holdout forecast by", _holdout_forecast(model)),
            ("holdout MAE (purchases per customer)", number(model.get("holdout_mae"), 3)),
            ("holdout RMSE", number(model.get("holdout_rmse"), 3)),
            (
                "total error of the holdout purchases",
                number(model.get("holdout_total_pct_error"), 1) + " %",
            ),
        ]
    return _table(["", ""], rows, [False, True])


def _clv_section(data: ReportData, charts: dict[str, Chart]) -> str:
    parts = []
    if "clv_by_tier" in charts:
        parts.append(_figure(charts["clv_by_tier"]))
        parts.append(
            _table(
                ["value tier", "customers", "mean", "25 %", "median", "75 %", "90 %", "total"],
                (
                    (
                        r.value_tier,
                        count(r.customers),
                        amount(r.mean),
                        amount(r.p25),
                        amount(r.median),
                        amount(r.p75),
                        amount(r.p90),
                        amount(r.total),
                    )
                    for r in data.clv_summary.itertuples()
                ),
                [False, *[True] * 7],
            )
        )
    else:
        parts.append(_empty(f"No predicted CLV as of {data.as_of}."))
    if data.clv_model:
        parts.append(_clv_model_text(data.clv_model))
    plots = [c for c in ("clv_tracking", "clv_calibration_vs_holdout") if c in charts]
    for chart_id in plots:
        parts.append(_figure(charts[chart_id]))
    if not plots:
        model = data.clv_model or {}
        if not model:
            reason = "the CLV was not computed for this day."
        elif not model.get("holdout_days"):
            reason = "the holdout check is off (`clv.holdout_days` is 0)."
        elif not model.get("holdout_customers"):
            reason = (
                f"no customer's first purchase falls before the holdout window (the "
                f"{model['holdout_days']} days up to {data.as_of}, `clv.holdout_days`): the "
                "history is still too short to judge the model on."
            )
        else:
            reason = "the CLV step's plot files are not in the reports folder."
        parts.append(_empty(f"No holdout tracking plot: {reason}"))
    return _section(
        "clv",
        "Predicted CLV per value tier, and how the purchase model did on the holdout period "
        "(actual against expected repeat purchases of the customers it was fitted on).",
        "".join(parts),
    )


def _quality_section(data: ReportData, charts: dict[str, Chart]) -> str:
    parts = []
    if data.ingest.empty:
        parts.append(_empty(f"Nothing was loaded by {data.as_of}."))
    else:
        read = int(data.ingest["rows_read"].sum())
        quarantined = int(data.ingest["rows_quarantined"].sum())
        parts.append(
            f'<p class="callout">{count(read)} rows read from {count(data.ingest["files"].sum())} '
            f"files up to {escape(str(data.as_of))}: {count(read - quarantined)} loaded, "
            f"{count(quarantined)} quarantined ({percent(quarantined / read if read else 0, 2)}).</p>"
        )
        if "quarantine" in charts:
            parts.append(_figure(charts["quarantine"]))
            parts.append(
                _table(
                    ["source", "reason", "rows", "what it means"],
                    (
                        (r.source, r.reason_code, count(r.rows), r.description)
                        for r in data.quarantine.itertuples()
                    ),
                    [False, False, True, False],
                )
            )
        else:
            parts.append(_empty("No row was quarantined: every row read was loaded."))
        parts.append(
            _table(
                ["source", "days", "files", "rows read", "loaded", "quarantined"],
                (
                    (
                        r.source,
                        count(r.days),
                        count(r.files),
                        count(r.rows_read),
                        count(r.rows_loaded),
                        count(r.rows_quarantined),
                    )
                    for r in data.ingest.itertuples()
                ),
                [False, True, True, True, True, True],
            )
        )
    return _section(
        "quality",
        "Rows set aside at ingest, by source and reason (`loyalty quarantine` lists them by "
        "day; `quarantine.<source>` holds the rows).",
        "".join(parts),
    )


def _exports_section(data: ReportData, charts: dict[str, Chart]) -> str:
    if data.exports.empty:
        body = _empty(
            f"No segment files were exported as of {data.as_of} (no email tools or segments "
            "are configured under `exports` in loyalty.yml)."
        )
    else:
        body = _figure(charts["exports"]) + _table(
            ["segment", "tool", "files", "people in the upsert file", "opted out", "left"],
            (
                (
                    r.segment,
                    r.tool,
                    count(r.files),
                    count(r.upsert_rows),
                    count(r.optout_rows),
                    count(r.leaver_rows),
                )
                for r in data.exports.itertuples()
            ),
            [False, False, True, True, True, True],
        )
    return _section(
        "exports",
        "Segment files written for the email tools on this day: who was sent, who was held "
        "out as the control group, and who is to be suppressed.",
        body,
    )


def _plan_rows(today: pd.DataFrame) -> Iterable[Sequence[Any]]:
    for r in today.itertuples():
        on_track = {True: "on track", False: "behind"}.get(r.is_on_track, "–")
        spend = (
            f"{amount(r.spend)} of {amount(r.budget_total)}"
            if not _is_missing(r.budget_total)
            else amount(r.spend)
        )
        interval = (
            f"{amount(r.incremental_revenue)} ({amount(r.incremental_revenue_low)} to "
            f"{amount(r.incremental_revenue_high)})"
        )
        roi = "–" if _is_missing(r.roi) else f"{number(r.roi)} ({r.roi_measure})"
        yield (
            r.plan,
            r.owner or "–",
            f"{r.metric}: {number(r.target_value)} by {r.due_date:%Y-%m-%d}",
            number(r.actual_value),
            number(r.expected_value),
            on_track,
            count(r.contacted),
            spend,
            interval,
            amount(r.cost_per_incremental_customer),
            roi,
        )


def _responses_table(responses: pd.DataFrame) -> str:
    return _table(
        [
            "campaign",
            "wave",
            "group",
            "people",
            "bought",
            "rate",
            "median days",
            "revenue per head",
            "used the coupon",
        ],
        (
            (
                r.campaign,
                f"{r.export_date:%Y-%m-%d}" + ("" if r.is_complete else " (open)"),
                r.group_name,
                count(r.people),
                count(r.responders),
                percent(r.response_rate),
                number(r.median_days_to_respond, 0),
                amount(r.revenue_per_head),
                count(r.coupon_users),
            )
            for r in responses.itertuples()
        ),
        [False, False, False, True, True, True, True, True, True],
    )


def _recommendations_part(plans: PlansData) -> str:
    run = plans.recommendation_run
    parts = ["<h3>Cross-selling recommendations</h3>"]
    if run is None or _is_missing(run.get("hit_rate")):
        parts.append(
            _empty(
                "The recommendations could not be measured on a holdout this day (the history "
                "is shorter than `recommendations.holdout_days`, or nobody bought in it)."
            )
        )
    else:
        verdict = "better than" if run["beats_baseline"] else "no better than (use the bestsellers)"
        parts.append(
            f'<p class="callout">On the last {count(_holdout_days(run))} days, '
            f"{percent(run['hit_rate'])} of the {count(run['customers_measured'])} customers "
            f"measured bought one of their {count(run['top_k'])} recommended subcategories, "
            f"against {percent(run['baseline_hit_rate'])} for the most popular ones: "
            f"{escape(verdict)} the popularity baseline.</p>"
        )
    if plans.recommendations.empty:
        parts.append(_empty("No segment has a recommendation shared by enough customers."))
    else:
        parts.append(
            _table(
                ["RFM segment", "category", "subcategory", "customers", "share of the segment"],
                (
                    (
                        r.rfm_segment,
                        r.category,
                        r.subcategory,
                        count(r.customers),
                        percent(r.segment_share),
                    )
                    for r in plans.recommendations.itertuples()
                ),
                [False, False, False, True, True],
            )
        )
        parts.append(
            f'<p class="note">The first recommendation of each customer, the '
            f"{TOP_RECOMMENDATIONS} most frequent per segment, shown when at least "
            f"{plans.min_group_size} customers got it.</p>"
        )
    return "".join(parts)


def _holdout_days(run: dict[str, Any]) -> int:
    """The holdout's length in days, from its first day to the as-of day."""
    return (pd.Timestamp(run["as_of_date"]) - pd.Timestamp(run["holdout_start_date"])).days + 1


def _plans_section(data: ReportData, charts: dict[str, Chart]) -> str:
    plans = data.plans
    parts = []
    if plans is None or plans.progress.empty:
        parts.append(_empty(f"No plan was followed as of {data.as_of} (`plans` in loyalty.yml)."))
    else:
        if "plans" in charts:
            parts.append(_figure(charts["plans"]))
        parts.append(
            _table(
                [
                    "plan",
                    "owner",
                    "objective",
                    "actual",
                    "expected today",
                    "",
                    "contacted",
                    "spend",
                    "incremental revenue (95 % interval)",
                    "cost per incremental customer",
                    "return on spend",
                ],
                _plan_rows(plans.today),
                [False, False, False, True, True, False, True, True, True, True, True],
            )
        )
    if plans is not None and not plans.responses.empty:
        parts.append("<h3>Responses to the campaigns</h3>")
        parts.append(_responses_table(plans.responses))
    if plans is not None:
        parts.append(_recommendations_part(plans))
    return _section(
        "plans",
        "Each plan's objective against where a straight line from its baseline says it should "
        "be, what it spent, and what it earned against its control group; how each campaign "
        "wave responded; and what to cross-sell to each segment.",
        "".join(parts),
    )


SECTIONS: tuple[tuple[str, str, Callable[[ReportData, dict[str, Chart]], str]], ...] = (
    ("kpis", "KPIs", _kpi_section),
    ("segments", "Segments", _segments_section),
    ("pareto", "Pareto", _pareto_section),
    ("cohorts", "Cohorts", _cohort_section),
    ("lifecycle", "Lifecycle", _lifecycle_section),
    ("clv", "CLV", _clv_section),
    ("quality", "Data quality", _quality_section),
    ("exports", "Exports", _exports_section),
    ("plans", "Plans", _plans_section),
)

STYLE = """
:root { --ink: #1f2937; --muted: #6b7280; --line: #e5e7eb; --bg: #f8fafc; --card: #fff;
  --accent: #2563eb; --good: #15803d; --bad: #b91c1c; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans",
  sans-serif; color: var(--ink); background: var(--bg); }
header { background: #0f172a; color: #fff; padding: 28px 40px 20px; }
header h1 { margin: 0 0 4px; font-size: 26px; font-weight: 650; }
header p { margin: 0; color: #cbd5e1; }
nav { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid var(--line);
  padding: 8px 40px; display: flex; flex-wrap: wrap; gap: 18px; font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 24px 48px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
  padding: 20px 24px; margin: 22px 0; }
h2 { margin: 0 0 6px; font-size: 20px; }
h3 { margin: 14px 0 6px; font-size: 15px; font-weight: 600; color: var(--muted); }
.lead { margin: 0 0 12px; color: var(--muted); }
.kpis { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 12px;
  margin: 8px 0; }
.kpi { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; display: flex;
  flex-direction: column; gap: 2px; }
.kpi .label { font-size: 13px; color: var(--muted); }
.kpi .value { font-size: 24px; font-weight: 650; font-variant-numeric: tabular-nums; }
.kpi .change { font-size: 13px; }
.change.up { color: var(--good); } .change.down { color: var(--bad); }
.change.flat { color: var(--muted); }
.note, figcaption { font-size: 13px; color: var(--muted); }
.callout { font-size: 16px; margin: 4px 0 8px; }
.empty { padding: 14px 16px; border: 1px dashed #cbd5e1; border-radius: 8px; color: var(--muted);
  background: #f8fafc; }
figure { margin: 8px 0 16px; }
.chart { display: block; max-width: 100%; height: auto; }
.pair { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 24px;
  align-items: start; }
@media (max-width: 900px) { .pair { grid-template-columns: 1fr; } }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 13px;
  font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; }
th { color: var(--muted); font-weight: 600; }
.num { text-align: right; }
code { font-size: 13px; background: #f1f5f9; padding: 1px 4px; border-radius: 4px; }
footer { max-width: 1180px; margin: 0 auto; padding: 0 24px 32px; color: var(--muted);
  font-size: 13px; }
@media print { nav { display: none; } section { break-inside: avoid; } }
"""


def render_page(data: ReportData, charts: dict[str, Chart]) -> str:
    """The report of `data.as_of` as one HTML document (text)."""
    nav = "".join(f'<a href="#{sid}">{escape(label)}</a>' for sid, label, _ in SECTIONS)
    body = "".join(render(data, charts) for _, _, render in SECTIONS)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{PAGE_TITLE} as of {data.as_of}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>{PAGE_TITLE}</h1><p>As of {data.as_of} · computed from the "
        "warehouse's analytics of that day · customers appear only in aggregates</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        "<footer>Definitions of every number: docs/analytics.md and docs/clv.md in the "
        f"project. Missing values are shown as –; {escape(NO_VALUE)} stands for customers "
        "without a value in that column.</footer></body></html>\n"
    )
