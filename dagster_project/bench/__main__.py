"""`python -m dagster_project.bench` (what `make bench` calls)."""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from pathlib import Path

import click

from dagster_project.bench.results import finish, update_markdown, write_result
from dagster_project.bench.run import MIN_DAYS, run_benchmark
from dagster_project.lib.environment import TELEMETRY_OFF

REPO = Path(__file__).resolve().parents[2]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--customers", default=2_000, show_default=True, type=click.IntRange(min=1))
@click.option("--days", default=120, show_default=True, type=click.IntRange(min=MIN_DAYS))
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--memory-limit",
    default=None,
    help="warehouse.memory_limit for the run, e.g. 6GB (DuckDB's default, 80% of the RAM, if not "
    "given); the result records it.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the data and warehouse go (emptied first); a temporary folder by default.",
)
@click.option(
    "--results",
    "results_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=REPO / "bench" / "results",
    show_default=True,
)
@click.option(
    "--markdown",
    type=click.Path(dir_okay=False, path_type=Path),
    default=REPO / "BENCHMARKS.md",
    show_default=True,
)
@click.option(
    "--render-only",
    is_flag=True,
    help="Run nothing: rewrite BENCHMARKS.md's tables and the growth plot from the results "
    "(after copying in a result run elsewhere, say).",
)
def main(
    customers: int,
    days: int,
    seed: int,
    memory_limit: str | None,
    workdir: Path | None,
    results_dir: Path,
    markdown: Path,
    render_only: bool,
) -> None:
    """Generate data, run the pipeline (a full refresh, then one daily run), time each stage
    with its peak memory, race our summary, RFM and CLV fit against lifetimes and pandas, and
    record the result."""
    if render_only:
        update_markdown(markdown, results_dir)
        click.echo(f"Wrote {markdown} from {results_dir}", err=True)
        return
    os.environ.update(TELEMETRY_OFF)
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
    scratch = None if workdir else Path(tempfile.mkdtemp(prefix="loyalty-bench-"))
    folder = workdir or scratch / "run"
    try:
        result = run_benchmark(
            folder,
            customers,
            days,
            seed=seed,
            memory_limit=memory_limit,
            say=lambda m: click.echo(m, err=True),
        )
    except Exception:
        # A run that fails hours in keeps its folder: dbt's log and the Dagster event log in it
        # say what failed and how long each step took.
        click.echo(f"The benchmark failed; its folder is kept for its logs: {folder}", err=True)
        raise
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    result = finish(result)
    path = write_result(result, results_dir)
    update_markdown(markdown, results_dir)
    click.echo(f"Wrote {path} and {markdown}", err=True)
    for verdict in result["targets"]:
        click.echo(f"  {verdict['verdict']:<40} {verdict['text']}")


if __name__ == "__main__":
    main()
