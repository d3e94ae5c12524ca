"""Benchmark results: one JSON file per run in `bench/results/`, and the tables of BENCHMARKS.md.

BENCHMARKS.md is written from every result file between two marker lines, so the prose around
the tables (what the numbers mean, what is being done about a missed target) is kept.
"""

from __future__ import annotations

import json
import os
import platform
from datetime import date
from importlib.metadata import version
from pathlib import Path
from typing import Any

import psutil

from dagster_project.bench.growth import draw_growth, growth_section, growth_series
from dagster_project.bench.targets import GB, judge

BEGIN = "<!-- results: written by `make bench` from bench/results/*.json; edit around them -->"
END = "<!-- end of results -->"
STAGES = ("ingest", "checks", "dbt", "clv", "exports", "publish", "report", "dagster")


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = [
            line.split(":", 1)[1].strip()
            for line in cpuinfo.read_text().splitlines()
            if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / GB, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        **{name: version(name) for name in ("duckdb", "dbt-core", "dagster", "lifetimes")},
    }


def result_name(result: dict[str, Any]) -> str:
    """`<date>-<customers>c-<days>d[-<memory limit>].json`: a run under a memory limit is a
    result of its own beside the same day's run without one."""
    size = result["size"]
    limit = f"-{size['memory_limit']}" if size.get("memory_limit") else ""
    return f"{result['date']}-{size['customers']}c-{size['days']}d{limit}.json"


def write_result(result: dict[str, Any], results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / result_name(result)
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def finish(result: dict[str, Any]) -> dict[str, Any]:
    """Stamp a result with the day and machine, and judge it against the targets."""
    result = {"date": date.today().isoformat(), "machine": machine(), **result}
    result["targets"] = judge(result)
    return result


def _gb(value: float) -> str:
    return f"{value / GB:.2f}"


def result_section(result: dict[str, Any]) -> str:
    size, data, runs = result["size"], result["data"], result["runs"]
    comparisons = result["comparisons"]
    stages = result["stages"]
    m = result["machine"]
    limited = f", DuckDB limited to {size['memory_limit']}" if size.get("memory_limit") else ""
    lines = [
        f"### {size['customers']:,} customers × {size['days']} days{limited} ({result['date']})",
        "",
        f"{data['rows']:,} landing rows in {data['files']:,} files, "
        f"{data['purchases']:,} purchases. Machine: {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB; Python {m['python']}, DuckDB {m['duckdb']}, "
        f"dbt-core {m['dbt-core']}, Dagster {m['dagster']}. DuckDB memory limit: "
        f"{size.get('memory_limit') or 'its default (80% of the RAM)'}.",
        "",
        "| stage | full refresh s | peak GB | daily run s | peak GB |",
        "|---|---:|---:|---:|---:|",
        f"| generate | {runs['generate']['seconds']:.1f} | {_gb(runs['generate']['peak_bytes'])} | | |",
    ]
    full, daily = stages["full_refresh"], stages["daily"]
    peaks = result["peak_bytes"]
    for stage in STAGES:
        full_peak = peaks["full_refresh"].get(stage)
        daily_peak = peaks["daily"].get(stage)
        lines.append(
            f"| {stage} | {full.get(stage, 0):.1f} | {_gb(full_peak) if full_peak else ''} "
            f"| {daily.get(stage, 0):.1f} | {_gb(daily_peak) if daily_peak else ''} |"
        )
    lines.append(
        f"| **total** | **{runs['full_refresh']['seconds']:.1f}** "
        f"| **{_gb(runs['full_refresh']['peak_bytes'])}** "
        f"| **{runs['daily']['seconds']:.1f}** | **{_gb(runs['daily']['peak_bytes'])}** |"
    )
    clv = stages.get("clv", {})
    if clv:
        parts = ", ".join(f"{part} {seconds:.1f} s" for part, seconds in clv.items())
        lines += ["", f"CLV step of the full refresh: {parts}."]
    dbt_parts = [
        f"the {label}'s {b['builds']} builds took {b['seconds']:.1f} s, {b['to_first_result']:.1f} s of "
        "it before their first result"
        for run, label in (("full_refresh", "full refresh"), ("daily", "daily run"))
        if (b := runs[run].get("dbt_builds"))
    ]
    if dbt_parts:
        lines += [
            "",
            f"dbt builds: {'; '.join(dbt_parts)} (starting dbt, reading the manifest, "
            "opening the warehouse).",
        ]
    for run, label in (("full_refresh", "full refresh"), ("daily", "daily run")):
        nodes = runs[run].get("dbt_nodes")
        if nodes and nodes["slowest"]:
            slowest = ", ".join(f"{n['node']} {n['seconds']:.1f}" for n in nodes["slowest"])
            lines += [
                "",
                f"dbt's nodes in the {label}, as dbt timed them: models {nodes['models']:.1f} s, "
                f"tests {nodes['tests']:.1f} s (dbt runs two at a time, so these may add up to "
                f"more than the builds took); the slowest (s): {slowest}.",
            ]
    builds = result.get("marts_builds")
    if builds:
        last = builds[-1]["whole_because"]
        lines += [
            "",
            "The daily run's marts build: "
            + (f"**whole** ({last}), not a night's incremental build." if last else "incremental."),
        ]
    disk = result.get("disk_bytes")
    if disk:
        held = ", ".join(f"{name} {_gb(size)}" for name, size in disk.items())
        lines += [
            "",
            f"On disk after the daily run (GB): {held}; {_gb(sum(disk.values()))} in all.",
        ]
    events = [
        f"{runs[run]['events']:,} in the {label}"
        for run, label in (("full_refresh", "full refresh"), ("daily", "daily run"))
        if "events" in runs[run]
    ]
    if events:
        lines += ["", f"Dagster events recorded: {', '.join(events)}."]
    for run, label in (("full_refresh", "full refresh"), ("daily", "daily run")):
        profile = result.get("profile", {}).get(run)
        if isinstance(profile, dict) and profile:
            hot = "; ".join(
                f"{entry['function']} {entry['share']:.0%}" for entry in profile["self"][:6]
            )
            lines += ["", f"Where the {label}'s samples were taken (py-spy, self time): {hot}."]
        elif profile:
            lines += ["", f"No profile of the {label}: {profile}."]
    lines += [
        "",
        "| comparison | ours s | theirs s | ratio | same numbers |",
        "|---|---:|---:|---:|---|",
    ]
    labels = {
        "summary": "per-customer summary vs lifetimes' `summary_data_from_transaction_data`",
        "rfm": "RFM scores and segments vs plain pandas",
        "clv_fit": "BG/NBD fit, compressed rows vs one row per customer",
    }
    for name, label in labels.items():
        c = comparisons[name]
        lines.append(
            f"| {label} | {c['ours_seconds']:.2f} | {c['theirs_seconds']:.2f} "
            f"| {c['speedup']:.1f}× | {'yes' if c['identical'] else '**no**'} |"
        )
    summary = comparisons["summary"]
    if "floor_seconds" in summary:
        lines.append(
            f"| per-customer summary vs the floor (one lean DuckDB query) | "
            f"{summary['ours_seconds']:.2f} | {summary['floor_seconds']:.2f} "
            f"| {1 / summary['ours_to_floor']:.2f}× | "
            f"{'yes' if summary['floor_identical'] else '**no**'} |"
        )
    fit = comparisons["clv_fit"]
    lines += [
        "",
        f"Summary on {comparisons['summary']['rows']:,} purchases of "
        f"{comparisons['summary']['customers']:,} customers; CLV fit on {fit['customers']:,} "
        f"customers compressed to {fit['rows_fitted']:,} rows (largest relative parameter "
        f"difference {fit['largest_relative_difference']:.1e}); BG/NBD + Gamma-Gamma fit "
        f"{fit['fit_seconds']:.1f} s.",
        "",
        "| target | verdict |",
        "|---|---|",
    ]
    for verdict in result["targets"]:
        lines.append(f"| {verdict['text']} | {verdict['verdict']} |")
    return "\n".join(lines)


def render(results_dir: Path, markdown: Path) -> str:
    """The generated part of BENCHMARKS.md: how time and memory grow with the size (a table, and
    a plot beside the results, `growth.png`), then every result, largest size first, newest
    first."""
    results = [json.loads(p.read_text()) for p in sorted(results_dir.glob("*.json"))]
    results.sort(key=lambda r: (r["size"]["customers"], r["size"]["days"], r["date"]), reverse=True)
    sections = [result_section(r) for r in results]
    series = growth_series(results)
    if series:
        plot = results_dir.parent / "growth.png"
        draw_growth(series, plot)
        link = Path(os.path.relpath(plot, markdown.resolve().parent)).as_posix()
        sections.insert(0, growth_section(series, link))
    return "\n\n".join(sections)


def update_markdown(markdown: Path, results_dir: Path) -> None:
    text = markdown.read_text(encoding="utf-8") if markdown.exists() else f"{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{markdown} lacks the marker lines of its generated part")
    before, rest = text.split(BEGIN, 1)
    after = rest.split(END, 1)[1]
    generated = render(results_dir.resolve(), markdown)
    markdown.write_text(f"{before}{BEGIN}\n\n{generated}\n\n{END}{after}", "utf-8")
