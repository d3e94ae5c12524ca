"""The report's charts, drawn with matplotlib's object API (no pyplot: no display, no global
figure state) from the frames of `data`, and rendered as inline SVG for the page and as PNG for
Dagster's metadata. Charts show aggregates only.
"""

from __future__ import annotations

import base64
import io
import re
from html import escape

import matplotlib
import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as CurvePath
from matplotlib.ticker import FuncFormatter, MaxNLocator, PercentFormatter

from dagster_project.lib.report.data import NO_VALUE, STAGE_ORDER, LifecycleFlow

INK = "#1f2937"
MUTED = "#6b7280"
GRID = "#e5e7eb"
PRIMARY = "#2563eb"
SECONDARY = "#93c5fd"
ACCENT = "#f59e0b"
TIER_COLOURS = {
    "gold": "#d4a017",
    "silver": "#9ca3af",
    "bronze": "#b87333",
    "wood": "#7c5c3b",
    NO_VALUE: "#cbd5e1",
}
STAGE_COLOURS = {
    "prospect": "#a5b4fc",
    "new": "#60a5fa",
    "active": "#22c55e",
    "reactivated": "#14b8a6",
    "at_risk": "#f59e0b",
    "lapsed": "#f97316",
    "lost": "#ef4444",
    NO_VALUE: "#cbd5e1",
}
FONT = "DejaVu Sans"
# Fonts the browser may use when DejaVu Sans (matplotlib's, whose metrics laid the text out) is
# not installed.
FONT_FALLBACK = "'DejaVu Sans', 'Bitstream Vera Sans', Verdana, Arial, sans-serif"


def stage_label(stage: str) -> str:
    return stage.replace("_", " ")


def new_figure(width: float, height: float) -> Figure:
    return Figure(figsize=(width, height), layout="constrained")


def style_axes(axes, *, grid_axis: str = "y") -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(GRID)
    axes.tick_params(colors=MUTED, labelcolor=INK, labelsize=10)
    if grid_axis:
        axes.grid(axis=grid_axis, color=GRID, linewidth=0.8)
        axes.set_axisbelow(True)


def _legend(figure: Figure, axes, columns: int) -> None:
    """The axes' legend below the chart, where it covers no bar."""
    handles, labels = axes.get_legend_handles_labels()
    figure.legend(
        handles, labels, loc="outside lower center", ncols=columns, fontsize=9, frameon=False
    )


def thousands(value: float, _position: int | None = None) -> str:
    if abs(value) >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if abs(value) >= 10_000:
        return f"{value / 1000:.0f}k"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    # Small values: ticks close together (an order value from 20 to 21) keep their decimals.
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _month_labels(months: pd.Series) -> list[str]:
    return [pd.Timestamp(m).strftime("%b %Y") for m in months]


# --- headline trend ------------------------------------------------------------------------------


def monthly_trend_chart(monthly: pd.DataFrame) -> Figure:
    """Customers with a purchase, new customers and their revenue per calendar month; the month
    still in progress is drawn lighter."""
    figure = new_figure(10, 3.2)
    panels = (
        ("active_customers", "customers with a purchase"),
        ("new_customers", "new customers"),
        ("net_amount", "revenue (net)"),
    )
    labels = _month_labels(monthly["month"])
    x = np.arange(len(monthly))
    complete = monthly["is_complete_month"].astype(bool).to_numpy()
    step = max(1, int(np.ceil(len(x) / 8)))
    for i, (column, title) in enumerate(panels):
        axes = figure.add_subplot(1, 3, i + 1)
        values = monthly[column].astype(float).to_numpy()
        colours = [PRIMARY if done else SECONDARY for done in complete]
        axes.bar(x, values, color=colours, width=0.75)
        axes.set_title(title, fontsize=10, color=INK, loc="left")
        axes.set_xticks(x[::step], labels[::step], rotation=45, ha="right")
        axes.yaxis.set_major_formatter(FuncFormatter(thousands))
        axes.yaxis.set_major_locator(MaxNLocator(5, integer=column != "net_amount"))
        style_axes(axes)
    if not complete.all():
        # A figure label, so the layout keeps room for it below the month names.
        figure.supxlabel("lighter: month in progress", x=0.99, ha="right", fontsize=9, color=MUTED)
    return figure


def kpi_history_chart(history: pd.DataFrame) -> Figure:
    """The KPIs of every as-of day computed, as small multiples."""
    panels = (
        ("active_customers_90d", "active customers (90 days)", False),
        ("repeat_purchase_rate", "repeat purchase rate", True),
        ("churn_rate_30d", "churn rate (30 days)", True),
        ("average_order_value_30d_amount", "average order value (30 days)", False),
        ("net_revenue_30d_amount", "net revenue (30 days)", False),
        ("top_revenue_share", "revenue share of the top customers", True),
    )
    figure = new_figure(10, 4.6)
    dates = pd.to_datetime(history["as_of_date"])
    for i, (column, title, is_share) in enumerate(panels):
        axes = figure.add_subplot(2, 3, i + 1)
        axes.plot(dates, history[column].astype(float), color=PRIMARY, marker="o", markersize=3)
        axes.set_title(title, fontsize=10, color=INK, loc="left")
        if is_share:
            axes.yaxis.set_major_formatter(PercentFormatter(1.0))  # decimals as the range needs
        else:
            axes.yaxis.set_major_formatter(FuncFormatter(thousands))
        if len(dates) <= 4:  # each day computed labelled
            axes.set_xticks(dates, [d.strftime("%d %b %Y") for d in dates])
        else:
            locator = mdates.AutoDateLocator(maxticks=5)
            axes.xaxis.set_major_locator(locator)
            axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        style_axes(axes)
    return figure


# --- segments, tiers and Pareto ------------------------------------------------------------------


def group_share_chart(groups: pd.DataFrame, *, tiers: bool = False) -> Figure:
    """Per group, its share of customers beside its share of revenue (labels: customers)."""
    height = max(2.2, 0.42 * len(groups) + 0.9)
    figure = new_figure(8, height)
    axes = figure.add_subplot()
    y = np.arange(len(groups))
    names = groups["group_name"].tolist()
    revenue_colours = [TIER_COLOURS.get(n, PRIMARY) for n in names] if tiers else PRIMARY
    axes.barh(y - 0.2, groups["customer_share"], height=0.38, color=SECONDARY, label="customers")
    axes.barh(y + 0.2, groups["revenue_share"], height=0.38, color=revenue_colours, label="revenue")
    for yi, (customers, share, revenue) in enumerate(
        zip(groups["customers"], groups["customer_share"], groups["revenue_share"], strict=True)
    ):
        axes.text(share, yi - 0.2, f" {customers:,}", va="center", fontsize=9, color=MUTED)
        if pd.notna(revenue):
            axes.text(revenue, yi + 0.2, f" {revenue:.0%}", va="center", fontsize=9, color=INK)
    axes.set_yticks(y, names)
    axes.invert_yaxis()
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    top = float(np.nanmax([groups["customer_share"].max(), groups["revenue_share"].max()]))
    axes.set_xlim(0, min(1.0, top * 1.18) if top > 0 else 1.0)
    _legend(figure, axes, columns=2)
    style_axes(axes, grid_axis="x")
    return figure


def pareto_chart(curve: pd.DataFrame, concentration: dict | None) -> Figure:
    """Share of revenue against share of customers, largest spenders first; the top share of
    customers (`segmentation.pareto_top_share`) marked."""
    figure = new_figure(6.4, 4.4)
    axes = figure.add_subplot()
    axes.fill_between(curve["customer_share"], curve["revenue_share"], color=PRIMARY, alpha=0.08)
    axes.plot(curve["customer_share"], curve["revenue_share"], color=PRIMARY, linewidth=2)
    axes.plot([0, 1], [0, 1], color=MUTED, linestyle="--", linewidth=1, label="everyone equal")
    if concentration and concentration.get("top_revenue_share") is not None:
        x = concentration["top_customers"] / concentration["customers"]
        y = concentration["top_revenue_share"]
        axes.plot([x, x, 0], [0, y, y], color=ACCENT, linestyle=":", linewidth=1.2)
        axes.plot([x], [y], marker="o", color=ACCENT, markersize=7)
        axes.annotate(
            f"top {x:.0%} of customers\nbring {y:.0%} of revenue",
            (x, y),
            xytext=(14, -28),
            textcoords="offset points",
            fontsize=9,
            color=INK,
        )
    axes.set_xlim(0, 1)
    axes.set_ylim(0, 1.02)
    axes.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    axes.set_xlabel("customers, largest spenders first", fontsize=9, color=INK)
    axes.set_ylabel("share of revenue", fontsize=9, color=INK)
    axes.legend(loc="lower right", fontsize=9, frameon=False)
    style_axes(axes, grid_axis="both")
    return figure


# --- cohorts and lifecycle -----------------------------------------------------------------------


def cohort_heatmap(cohorts: pd.DataFrame) -> Figure:
    """Retention by monthly cohort (rows) and months since the first purchase (columns).

    The colour scale runs to the highest retention after month 0 (month 0 is 100 % by
    definition and would wash the rest out); a month in progress is marked with *.
    """
    rates = cohorts.pivot(
        index="cohort_month", columns="months_since_first_purchase", values="retention_rate"
    ).sort_index()
    open_month = cohorts.pivot(
        index="cohort_month", columns="months_since_first_purchase", values="is_complete_month"
    ).reindex_like(rates)
    sizes = cohorts.groupby("cohort_month")["cohort_customers"].first().reindex(rates.index)
    n_rows, n_cols = rates.shape
    figure = new_figure(min(11, 2.9 + 0.62 * n_cols), max(2.0, 0.34 * n_rows + 1.1))
    axes = figure.add_subplot()
    later = rates.drop(columns=[0], errors="ignore").to_numpy(dtype=float)
    top = np.nanmax(later) if later.size and np.isfinite(later).any() else 1.0
    mesh = axes.pcolormesh(
        np.ma.masked_invalid(rates.to_numpy(dtype=float)),
        cmap="Blues",
        vmin=0,
        vmax=max(top, 0.05),
        edgecolors="white",
        linewidth=1.5,
    )
    if n_cols <= 24 and n_rows <= 36:
        for (row, col), rate in np.ndenumerate(rates.to_numpy(dtype=float)):
            if np.isnan(rate):
                continue
            done = open_month.iloc[row, col]
            light = rate > 0.6 * max(top, 0.05)
            axes.text(
                col + 0.5,
                row + 0.5,
                f"{rate:.0%}{'' if done is True or pd.isna(done) else '*'}",
                ha="center",
                va="center",
                fontsize=7.5,
                color="white" if light else INK,
            )
    axes.set_xticks(np.arange(n_cols) + 0.5, [str(c) for c in rates.columns])
    axes.set_yticks(
        np.arange(n_rows) + 0.5,
        [f"{m}  ({int(n):,})" for m, n in zip(_month_labels(rates.index), sizes, strict=True)],
    )
    axes.invert_yaxis()
    axes.xaxis.tick_top()
    axes.xaxis.set_label_position("top")
    axes.set_xlabel("months since the first purchase", fontsize=9, color=INK)
    axes.tick_params(length=0, labelsize=8, labelcolor=INK)
    for spine in axes.spines.values():
        spine.set_visible(False)
    bar = figure.colorbar(mesh, ax=axes, shrink=0.8, format=PercentFormatter(1.0, decimals=0))
    bar.outline.set_visible(False)
    bar.ax.tick_params(labelsize=8, colors=MUTED)
    return figure


def lifecycle_stages_chart(stages: pd.DataFrame) -> Figure:
    """Customers per lifecycle stage on the day."""
    figure = new_figure(7, max(2.2, 0.38 * len(stages) + 0.8))
    axes = figure.add_subplot()
    y = np.arange(len(stages))
    axes.barh(
        y, stages["customers"], color=[STAGE_COLOURS.get(s, PRIMARY) for s in stages["stage"]]
    )
    for yi, customers in enumerate(stages["customers"]):
        axes.text(customers, yi, f" {customers:,}", va="center", fontsize=9, color=INK)
    axes.set_yticks(y, [stage_label(s) for s in stages["stage"]])
    axes.invert_yaxis()
    axes.set_xlim(0, stages["customers"].max() * 1.15)
    axes.xaxis.set_major_formatter(FuncFormatter(thousands))
    style_axes(axes, grid_axis="x")
    return figure


def _stage_order(values) -> list[str]:
    known = {s: i for i, s in enumerate((*STAGE_ORDER, NO_VALUE))}
    return sorted(set(values), key=lambda s: (known.get(s, len(STAGE_ORDER)), s))


def lifecycle_flow_chart(flow: LifecycleFlow) -> Figure:
    """A Sankey diagram: lifecycle stages on the earlier snapshot (left) and on the day (right),
    each band as wide as the customers who moved that way."""
    flows = flow.flows[flow.flows["customers"] > 0]
    total = float(flows["customers"].sum())
    gap = total * 0.025
    node_width = 0.035
    x_left, x_right = 0.22, 0.78

    def stack(column: str) -> dict[str, list[float]]:
        sizes = flows.groupby(column)["customers"].sum()
        nodes, top = {}, 0.0
        for stage in _stage_order(sizes.index):
            nodes[stage] = [top, top + float(sizes[stage])]
            top += float(sizes[stage]) + gap
        return nodes

    left, right = stack("from_stage"), stack("to_stage")
    height = max(v[1] for v in (*left.values(), *right.values()))
    figure = new_figure(9, 5.2)
    axes = figure.add_subplot()
    left_next = {s: v[0] for s, v in left.items()}
    right_next = {s: v[0] for s, v in right.items()}
    order = {s: i for i, s in enumerate(_stage_order([*left, *right]))}
    ordered = flows.assign(
        _from=flows["from_stage"].map(order), _to=flows["to_stage"].map(order)
    ).sort_values(["_from", "_to"])
    for row in ordered.itertuples():
        size = float(row.customers)
        y0, y1 = left_next[row.from_stage], right_next[row.to_stage]
        left_next[row.from_stage] += size
        right_next[row.to_stage] += size
        a, b = x_left + node_width, x_right
        middle = (a + b) / 2
        vertices = [
            (a, y0),
            (middle, y0),
            (middle, y1),
            (b, y1),
            (b, y1 + size),
            (middle, y1 + size),
            (middle, y0 + size),
            (a, y0 + size),
            (a, y0),
        ]
        codes = [
            CurvePath.MOVETO,
            CurvePath.CURVE4,
            CurvePath.CURVE4,
            CurvePath.CURVE4,
            CurvePath.LINETO,
            CurvePath.CURVE4,
            CurvePath.CURVE4,
            CurvePath.CURVE4,
            CurvePath.CLOSEPOLY,
        ]
        colour = STAGE_COLOURS.get(row.from_stage, PRIMARY)
        axes.add_patch(
            PathPatch(CurvePath(vertices, codes), facecolor=colour, alpha=0.45, linewidth=0)
        )
    # No stage on the earlier day: not a customer yet; none on the day: no longer has one.
    names = {"left": {NO_VALUE: "not yet a customer"}, "right": {NO_VALUE: "no stage"}}
    for side, nodes, x in (("left", left, x_left), ("right", right, x_right)):
        for stage, (top, bottom) in nodes.items():
            colour = STAGE_COLOURS.get(stage, PRIMARY)
            axes.add_patch(Rectangle((x, top), node_width, bottom - top, color=colour))
            label = names[side].get(stage, stage_label(stage))
            axes.text(
                x - 0.01 if side == "left" else x + node_width + 0.01,
                (top + bottom) / 2,
                f"{label}  {int(bottom - top):,}",
                ha="right" if side == "left" else "left",
                va="center",
                fontsize=9,
                color=INK,
            )
    axes.text(
        x_left + node_width / 2,
        -gap * 1.2,
        str(flow.previous_as_of),
        ha="center",
        fontsize=9,
        color=MUTED,
        va="bottom",
    )
    axes.text(
        x_right + node_width / 2,
        -gap * 1.2,
        str(flow.as_of),
        ha="center",
        fontsize=9,
        color=MUTED,
        va="bottom",
    )
    axes.set_xlim(0, 1)
    axes.set_ylim(height + gap, -gap * 3)
    axes.set_axis_off()
    return figure


# --- customer lifetime value ---------------------------------------------------------------------


def clv_by_tier_chart(values: pd.DataFrame, summary: pd.DataFrame) -> Figure:
    """Predicted CLV per value tier: box (quartiles), whiskers (1.5 IQR), mean (diamond)."""
    tiers = summary["value_tier"].tolist()
    figure = new_figure(8, max(2.4, 0.7 * len(tiers) + 1.0))
    axes = figure.add_subplot()
    data = [values.loc[values["value_tier"] == t, "predicted_clv"].to_numpy() for t in tiers]
    boxes = axes.boxplot(
        data,
        orientation="horizontal",
        showfliers=False,
        patch_artist=True,
        widths=0.55,
        medianprops={"color": INK, "linewidth": 1.5},
        whiskerprops={"color": MUTED},
        capprops={"color": MUTED},
    )
    for patch, tier in zip(boxes["boxes"], tiers, strict=True):
        patch.set_facecolor(TIER_COLOURS.get(tier, SECONDARY))
        patch.set_alpha(0.75)
        patch.set_edgecolor(MUTED)
    positions = np.arange(1, len(tiers) + 1)
    axes.scatter(summary["mean"], positions, marker="D", color=INK, s=18, zorder=3, label="mean")
    upper = max((w.get_xdata().max() for w in boxes["whiskers"]), default=1.0)
    for y, row in zip(positions, summary.itertuples(), strict=True):
        axes.text(
            upper * 1.03,
            y,
            f"n={row.customers:,}  median {row.median:,.0f}",
            va="center",
            fontsize=9,
            color=MUTED,
        )
    axes.set_yticks(positions, tiers)
    axes.invert_yaxis()
    axes.set_xlim(left=0, right=upper * 1.45 if upper > 0 else 1)
    axes.xaxis.set_major_formatter(FuncFormatter(thousands))
    axes.set_xlabel("predicted CLV (next horizon)", fontsize=9, color=INK)
    axes.legend(loc="lower right", fontsize=9, frameon=False)
    style_axes(axes, grid_axis="x")
    return figure


# --- quality and exports -------------------------------------------------------------------------


def quarantine_chart(quarantine: pd.DataFrame, top: int = 12) -> Figure:
    """Quarantined rows per source and reason, most first (the `top` largest)."""
    shown = quarantine.head(top)
    figure = new_figure(8, max(2.0, 0.34 * len(shown) + 0.8))
    axes = figure.add_subplot()
    y = np.arange(len(shown))
    axes.barh(y, shown["rows"], color="#f87171")
    for yi, rows in enumerate(shown["rows"]):
        axes.text(rows, yi, f" {rows:,}", va="center", fontsize=9, color=INK)
    axes.set_yticks(
        y, [f"{s} · {r}" for s, r in zip(shown["source"], shown["reason_code"], strict=True)]
    )
    axes.invert_yaxis()
    axes.set_xlim(0, shown["rows"].max() * 1.15)
    axes.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    style_axes(axes, grid_axis="x")
    return figure


def exports_chart(campaigns: pd.DataFrame, exports: pd.DataFrame) -> Figure:
    """Per segment exported on the day: people sent, held out (control) and no longer mailed
    (opted out, or left the segment)."""
    # Every tool gets the same people of a segment: one bar per segment.
    stopped = exports.assign(stopped=exports["optout_rows"] + exports["leaver_rows"])
    per_segment = stopped.groupby("segment").agg(
        sent=("upsert_rows", "max"), suppressed=("stopped", "max")
    )
    held = campaigns.set_index("segment")
    groups = pd.DataFrame(
        {
            "segment": per_segment.index,
            "treated": held["treated"].reindex(per_segment.index).fillna(per_segment["sent"]),
            "control": held["control"].reindex(per_segment.index).fillna(0),
            "suppressed": per_segment["suppressed"],
        }
    ).astype({"treated": int, "control": int, "suppressed": int})
    groups = groups.reset_index(drop=True)
    figure = new_figure(8, max(2.0, 0.5 * len(groups) + 0.9))
    axes = figure.add_subplot()
    y = np.arange(len(groups))
    axes.barh(y - 0.18, groups["treated"], height=0.34, color=PRIMARY, label="sent")
    axes.barh(
        y - 0.18,
        groups["control"],
        left=groups["treated"],
        height=0.34,
        color=ACCENT,
        label="held out (control)",
    )
    axes.barh(
        y + 0.18, groups["suppressed"], height=0.34, color="#9ca3af", label="no longer mailed"
    )
    for yi, row in enumerate(groups.itertuples()):
        axes.text(
            row.treated + row.control,
            yi - 0.18,
            f" {row.treated:,} + {row.control:,}",
            va="center",
            fontsize=9,
            color=INK,
        )
        axes.text(
            row.suppressed, yi + 0.18, f" {row.suppressed:,}", va="center", fontsize=9, color=MUTED
        )
    axes.set_yticks(y, groups["segment"])
    axes.invert_yaxis()
    widest = float((groups["treated"] + groups["control"]).max() or 1)
    axes.set_xlim(0, max(widest, float(groups["suppressed"].max() or 0)) * 1.25)
    axes.xaxis.set_major_locator(MaxNLocator(5, integer=True))
    _legend(figure, axes, columns=3)
    style_axes(axes, grid_axis="x")
    return figure


# --- plans -------------------------------------------------------------------------------------


def plan_progress_chart(progress: pd.DataFrame) -> Figure:
    """One panel per plan: the actual value on each as-of day, and the straight line from the
    baseline to the target by the due date that it is judged against."""
    plans = list(dict.fromkeys(progress["plan"]))
    columns = min(3, len(plans))
    rows = -(-len(plans) // columns)
    figure = new_figure(3.6 * columns, 2.8 * rows)
    for i, plan in enumerate(plans):
        rows_of_plan = progress[progress["plan"] == plan]
        first = rows_of_plan.iloc[0]
        axes = figure.add_subplot(rows, columns, i + 1)
        line_days = pd.to_datetime([first["baseline_date"], first["due_date"]])
        axes.plot(
            line_days,
            [first["baseline_value"], first["target_value"]],
            color=MUTED,
            linestyle="--",
            linewidth=1,
            label="line to the target",
        )
        axes.plot(line_days[-1:], [first["target_value"]], color=ACCENT, marker="D", label="target")
        axes.plot(
            pd.to_datetime(rows_of_plan["as_of_date"]),
            rows_of_plan["actual_value"].astype(float),
            color=PRIMARY,
            marker="o",
            markersize=4,
            label="actual",
        )
        axes.set_title(f"{plan}: {first['metric']}", fontsize=10, color=INK, loc="left")
        axes.yaxis.set_major_formatter(FuncFormatter(thousands))
        axes.tick_params(axis="x", labelrotation=30, labelsize=8)
        style_axes(axes)
        if i == 0:
            axes.legend(fontsize=8, frameon=False)
    return figure


# --- rendering -----------------------------------------------------------------------------------

_PROLOGUE = re.compile(r"^.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_NAMESPACES = re.compile(r'\s+xmlns(:\w+)?="[^"]*"')


def to_svg(figure: Figure, chart_id: str, label: str) -> str:
    """The figure as an `<svg>` element to inline in HTML.

    Text stays text (small, selectable); ids are prefixed with `chart_id` so several charts
    share a page; the prologue, the RDF metadata and namespace URLs are dropped (HTML needs
    none); `data-chart` names the chart. Its width and height stay (a chart is shown at its own
    size), and the page's style shrinks it to fit a narrow window.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": chart_id}):
        FigureCanvasSVG(figure)
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = _PROLOGUE.sub("", buffer.getvalue(), count=1)
    text = _METADATA.sub("", text)
    text = _NAMESPACES.sub("", text)
    text = _prefixed_stable_ids(text, chart_id)
    text = text.replace(f"'{FONT}'", FONT_FALLBACK)
    attributes = f' data-chart="{chart_id}" role="img" aria-label="{escape(label)}" class="chart"'
    text = text.replace("<svg", "<svg" + attributes, 1)
    return text.strip()


_ID_OR_REFERENCE = re.compile(r'(\bid="|url\(#|href="#)([^")]+)')
_HASHED_ID = re.compile(r"[a-z][0-9a-f]{10}")  # matplotlib's _make_id: a letter, 10 hex digits


def _prefixed_stable_ids(svg: str, chart_id: str) -> str:
    """Every id and reference to one prefixed with `chart_id`; hashed ids renamed by order.

    matplotlib names clip paths and markers by a hash of their content, and a clip rectangle's
    content is its float bounds: a last-bit difference between two renders of the same day
    (layout arithmetic) changed the id and so the page's bytes. Numbering them in order of
    first appearance keeps the page identical whenever what is drawn is.
    """
    renamed: dict[str, str] = {}

    def rename(match: re.Match[str]) -> str:
        before, name = match.groups()
        if _HASHED_ID.fullmatch(name):
            name = renamed.setdefault(name, f"{name[0]}-{len(renamed)}")
        return f"{before}{chart_id}-{name}"

    return _ID_OR_REFERENCE.sub(rename, svg)


def to_png(figure: Figure, dpi: int = 80) -> bytes:
    buffer = io.BytesIO()
    FigureCanvasAgg(figure)
    figure.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def png_data_uri(data: bytes) -> str:
    """A PNG inline, for the report page and Dagster's Markdown metadata alike."""
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")
