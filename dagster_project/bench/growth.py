"""How time and memory grow with the chain's size: BENCHMARKS.md's growth table and its plot.

A growth series is the latest result of each size among results of the same number of days and
the same memory limit: a limit changes both the time and the peak, so sizes run under different
limits do not compare. Of the series that hold two sizes or more, the one reaching the largest
size is shown.

Growth between two sizes is also given as an exponent k (time grows as rows^k): 1 is linear,
below 1 means fixed costs still weigh, above 1 means the work grows faster than the data (a
spill, a sort, a join that no longer fits).
"""

from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, NullFormatter

from dagster_project.bench.targets import GB

# The stages whose growth the table shows: the ones that take most of a full refresh.
GROWTH_STAGES = ("ingest", "dbt", "checks", "clv", "exports", "publish", "dagster")


def growth_series(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The results to compare, smallest size first (empty if no series has two sizes)."""
    groups: dict[tuple[int, str | None], dict[int, dict[str, Any]]] = {}
    for result in results:
        size = result["size"]
        group = groups.setdefault((size["days"], size.get("memory_limit")), {})
        kept = group.get(size["customers"])
        if kept is None or result["date"] > kept["date"]:
            group[size["customers"]] = result
    candidates = [group for group in groups.values() if len(group) >= 2]
    if not candidates:
        return []
    chosen = max(candidates, key=lambda g: (max(g), len(g), max(r["date"] for r in g.values())))
    return [chosen[customers] for customers in sorted(chosen)]


def exponent(small: float, large: float, small_rows: int, large_rows: int) -> float | None:
    """k in time = c * rows^k between two sizes (None where the rows or times give none)."""
    if min(small, large, small_rows, large_rows) <= 0 or small_rows == large_rows:
        return None
    return math.log(large / small) / math.log(large_rows / small_rows)


def _row(result: dict[str, Any]) -> str:
    runs, full = result["runs"], result["stages"]["full_refresh"]
    cells = [
        f"{result['size']['customers']:,}",
        f"{result['data']['rows']:,}",
        f"{result['data']['purchases']:,}",
        f"{runs['generate']['seconds']:.0f}",
        f"{runs['full_refresh']['seconds']:.0f}",
        f"{runs['full_refresh']['peak_bytes'] / GB:.1f}",
        f"{runs['daily']['seconds']:.0f}",
        f"{runs['daily']['peak_bytes'] / GB:.1f}",
        *(f"{full.get(stage, 0):.0f}" for stage in GROWTH_STAGES),
    ]
    return "| " + " | ".join(cells) + " |"


def _step(small: dict[str, Any], large: dict[str, Any]) -> str:
    rows = small["data"]["rows"], large["data"]["rows"]
    cells = [f"{small['size']['customers']:,} → {large['size']['customers']:,}"]
    cells.append(f"{rows[1] / rows[0]:.1f}×")
    for run in ("full_refresh", "daily"):
        seconds = small["runs"][run]["seconds"], large["runs"][run]["seconds"]
        k = exponent(*seconds, *rows)
        cells.append(
            f"{seconds[1] / seconds[0]:.1f}×" + (f" (k = {k:.2f})" if k is not None else "")
        )
    peaks = small["runs"]["full_refresh"]["peak_bytes"], large["runs"]["full_refresh"]["peak_bytes"]
    cells.append(f"{peaks[1] / peaks[0]:.1f}×")
    full_small, full_large = small["stages"]["full_refresh"], large["stages"]["full_refresh"]
    for stage in ("ingest", "dbt", "dagster"):
        a, b = full_small.get(stage, 0), full_large.get(stage, 0)
        cells.append(f"{b / a:.1f}×" if a > 0 and b > 0 else "")
    return "| " + " | ".join(cells) + " |"


def growth_section(series: list[dict[str, Any]], plot: str | None) -> str:
    """The growth table (seconds and GB per size), the step from size to size, and the plot."""
    first = series[0]["size"]
    limit = first.get("memory_limit")
    under = f"DuckDB limited to {limit}" if limit else "DuckDB at its default memory limit"
    machines = sorted({r["machine"]["cpu"] for r in series})
    lines = [
        f"### How time and memory grow ({first['days']} days, {under})",
        "",
        "The latest result of each size run with the same days and memory limit; seconds, peaks "
        f"in GB. Machines: {', '.join(machines)}"
        + (
            " (sizes measured on different machines compare only roughly)."
            if len(machines) > 1
            else "."
        ),
        "",
        "| customers | landing rows | purchases | generate s | full refresh s | peak GB "
        "| daily run s | peak GB | " + " | ".join(f"{stage} s" for stage in GROWTH_STAGES) + " |",
        "|" + "---:|" * (8 + len(GROWTH_STAGES)),
        *(_row(result) for result in series),
        "",
        "From size to size (k: time grows as landing rows^k; 1 is linear):",
        "",
        "| sizes | rows | full refresh | daily run | full-refresh peak | ingest | dbt | dagster |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        *(_step(small, large) for small, large in pairwise(series)),
    ]
    if plot:
        lines += ["", f"![Time and peak memory by size]({plot})"]
    return "\n".join(lines)


def draw_growth(series: list[dict[str, Any]], path: Path) -> None:
    """Seconds and peak GB against landing rows, the seconds on log scales (a straight line is
    a power law; its slope is k)."""
    rows = [r["data"]["rows"] for r in series]
    figure = Figure(figsize=(9, 3.6), layout="constrained")
    seconds_axes, memory_axes = figure.subplots(1, 2)
    for label, values in (
        ("full refresh", [r["runs"]["full_refresh"]["seconds"] for r in series]),
        ("daily run", [r["runs"]["daily"]["seconds"] for r in series]),
        *(
            (stage, [r["stages"]["full_refresh"].get(stage, 0) or math.nan for r in series])
            for stage in ("ingest", "dbt", "dagster")
        ),
    ):
        style = "-o" if label in ("full refresh", "daily run") else "--."
        seconds_axes.plot(rows, values, style, label=label)
    for label, run in (("full refresh", "full_refresh"), ("daily run", "daily")):
        memory_axes.plot(
            rows, [r["runs"][run]["peak_bytes"] / GB for r in series], "-o", label=label
        )
    # Each size's own tick (its customers and landing rows) rather than powers of ten.
    labels = [f"{r['size']['customers']:,}\n{r['data']['rows'] / 1e6:.1f}M rows" for r in series]
    plain = FuncFormatter(lambda y, _: f"{y:g}")
    for axes, title in ((seconds_axes, "seconds (log scale)"), (memory_axes, "peak GB")):
        axes.set_xscale("log")
        axes.set_xticks(rows, labels)
        axes.xaxis.set_minor_formatter(NullFormatter())
        axes.set_xlabel("customers, landing rows")
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize="small")
    seconds_axes.set_yscale("log")
    seconds_axes.yaxis.set_major_formatter(plain)
    seconds_axes.yaxis.set_minor_formatter(plain)
    seconds_axes.tick_params(axis="y", which="minor", labelsize="x-small")
    memory_axes.set_ylim(bottom=0)
    FigureCanvasAgg(figure)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Software": None})
