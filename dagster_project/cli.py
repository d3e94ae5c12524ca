"""The `loyalty` command: generate demo data, run the pipeline, read the quarantine, open the UI."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import click
import duckdb
import psutil

from dagster_project.config import DEFAULT_CONFIG_NAME, ConfigError, Settings, load_settings
from dagster_project.lib.environment import TELEMETRY_OFF, apply_environment
from dagster_project.lib.privacy import DemoKeyRefused, run_pseudonym_key
from dagster_project.lib.processes import processes_in_session
from dagster_project.lib.sources.files import SourceFileError
from dagster_project.lib.sources.specs import FILE_SOURCES, SHOPIFY_ORDERS

DEMO_CONFIG = """\
# Demo configuration, written by `loyalty demo`. Every key is documented in the README.
timezone: Europe/Madrid
start_date: {start}
landing_dir: data/landing
warehouse: {{path: data/warehouse.duckdb}}
exports_dir: data/exports
reports_dir: data/reports
publish_dir: data/publish
clv: {{model: bgnbd, time_unit: W, holdout_days: 91}}
privacy:
  demo: true                    # synthetic people: the documented demo key is allowed
  sensitive_categories: [Salud sexual]   # treated as prescriptions are
exports:
  tools: [mailchimp, klaviyo, brevo, hubspot, generic]
  control_share: 0.1
  recommendations: true         # what to cross-sell, in every upsert file
  segments:
    champions: {{rfm_segment: [Champions]}}
    win_back: {{lifecycle_stage: [at_risk, lapsed]}}
    gold_high_value: {{value_tier: [gold], clv_min: 100}}
    gold_lapsing: {{value_tier: [gold], lifecycle_stage: [at_risk, lapsed]}}
    store_loyal: {{rfm_segment: [Loyal, Champions], where: "channels_used = 'store'"}}
# Plans (docs/marketing.md): for whom, what for, who answers for it, what it may spend, how.
plans:
  grow_champions:
    description: Keep Champions buying and grow their number through the winter season.
    targets: {{segment: champions}}
    objective: {{metric: customers, target: 3300, baseline_date: 2025-06-30, due_date: 2026-03-31}}
    owner: CRM lead
    budget: {{total: 600, per_contact: 0.01}}
    period: {{start: 2025-06-30, end: 2026-03-31}}
    channel: email
    actions:
      - {{kind: communication, description: "Monthly health and beauty tips, first to hear of new ranges"}}
      - {{kind: service, description: "Free skin analysis by appointment in store"}}
  win_back_gold:
    description: Bring back gold customers whose visits have slowed or stopped.
    targets: {{segment: gold_lapsing}}
    objective: {{metric: reactivated, target: 200, baseline_date: 2025-06-30, due_date: 2025-12-31}}
    owner: Store operations manager
    budget: {{total: 2500, per_contact: 0.02}}
    period: {{start: 2025-06-30, end: 2025-12-31}}
    channel: email
    actions:
      - {{kind: communication, description: "We miss you, with the customer's usual categories"}}
      - {{kind: promotion, coupon: VUELVE15, description: "15% off the next basket for 30 days"}}
  cross_sell_store_loyal:
    description: Introduce dermocosmetics to loyal customers who only buy in store.
    targets: {{segment: store_loyal}}
    objective: {{metric: revenue, target: 300000, baseline_date: 2025-06-30, due_date: 2026-02-28}}
    owner: Category manager, dermocosmetics
    budget: {{total: 1800}}
    period: {{start: 2025-06-30, end: 2026-02-28}}
    channel: email
    actions:
      - {{kind: product, description: "Dermocosmetics samples with every basket over 20 EUR"}}
      - {{kind: promotion, coupon: DERMO10, description: "10% off a first dermocosmetics product"}}
"""
DEMO_START, DEMO_END = date(2024, 1, 1), date(2025, 12, 31)
DEMO_HISTORY_MONTHS = 6


def demo_history() -> tuple[date, ...]:
    """The last days of the DEMO_HISTORY_MONTHS months before DEMO_END's."""
    first_of_month = DEMO_END.replace(day=1)
    ends = []
    for _ in range(DEMO_HISTORY_MONTHS):
        end = first_of_month - timedelta(days=1)
        ends.append(end)
        first_of_month = end.replace(day=1)
    return tuple(reversed(ends))


class IsoDate(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx) -> date:
        if isinstance(value, date):
            return value
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not a date in the form YYYY-MM-DD", param, ctx)


ISO_DATE = IsoDate()
CONFIG_OPTION = click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=None,
    help=f"Configuration file (default: $LOYALTY_CONFIG or ./{DEFAULT_CONFIG_NAME}).",
)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"loyalty: {message}", err=True)
    sys.exit(code)


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as error:
        _fail(str(error), 2)
        raise  # unreachable; keeps type checkers honest


@contextlib.contextmanager
def _read_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    from dagster_project.lib.warehouse import connect

    if not settings.warehouse_path.exists():
        _fail(f"no warehouse at {settings.warehouse_path}: run `loyalty run` first")
    con = connect(settings.warehouse_path, read_only=True)
    try:
        yield con
    finally:
        con.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Customer-loyalty analytics: POS and online sales to customer marts."""
    os.environ.update(TELEMETRY_OFF)
    # Dagster flags parameters we rely on (backfill_policy) as beta on every load; the user
    # running a command cannot act on that, so it stays out of their terminal.
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")


@main.command()
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the landing files into.",
)
@click.option("--customers", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--start", default=DEMO_START.isoformat(), show_default=True, type=ISO_DATE)
@click.option("--end", default=DEMO_END.isoformat(), show_default=True, type=ISO_DATE)
@click.option("--seed", default=42, show_default=True, type=int)
@click.option(
    "--dirty-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of rows given a realistic fault (bad date, negative price…).",
)
@click.option("--overwrite", is_flag=True, help="Replace landing folders already in --out.")
def generate(
    out_dir: Path,
    customers: int,
    start: date,
    end: date,
    seed: int,
    dirty_rate: float,
    overwrite: bool,
) -> None:
    """Write realistic synthetic landing files (and their truth) for a pharmacy chain."""
    if start > end:
        _fail(f"--start {start} is after --end {end}", 2)
    _generate(out_dir, customers, start, end, seed, dirty_rate, overwrite)


def _generate(
    out_dir: Path,
    customers: int,
    start: date,
    end: date,
    seed: int,
    dirty_rate: float,
    overwrite: bool,
) -> None:
    from dagster_project.lib.synthetic import generate as generate_data

    began = time.monotonic()
    click.echo(
        f"Generating {customers:,} customers, {start} to {end}, seed {seed} → {out_dir}", err=True
    )
    try:
        summary = generate_data(
            out_dir,
            customers=customers,
            start=start,
            end=end,
            seed=seed,
            dirty_rate=dirty_rate,
            progress=lambda message: click.echo(f"  {message}", err=True),
            overwrite=overwrite,
        )
    except FileExistsError as error:
        _fail(f"{str(error).split(';')[0]}; use --overwrite to replace them", 2)
    click.echo(
        f"Wrote {summary.total_files:,} files, {summary.total_rows:,} rows "
        f"({summary.persons:,} persons, {summary.purchases:,} purchases) "
        f"in {time.monotonic() - began:.1f}s",
        err=True,
    )


@main.command()
@CONFIG_OPTION
@click.option("--date", "day", type=ISO_DATE, default=None, help="Load one day.")
@click.option("--start", type=ISO_DATE, default=None, help="First day of a range (with --end).")
@click.option("--end", type=ISO_DATE, default=None, help="Last day of a range (with --start).")
@click.option(
    "--allow-empty",
    is_flag=True,
    help="Compute the days from what is loaded even when no source delivered a row for them "
    "(otherwise such a run stops after ingest and exits 1).",
)
def run(
    config: str | None,
    day: date | None,
    start: date | None,
    end: date | None,
    allow_empty: bool,
) -> None:
    """Run the pipeline for a day, a range of days, or (no dates) every day delivered."""
    settings = _settings(config)
    if day and (start or end):
        _fail("give either --date or --start/--end, not both", 2)
    if (start is None) != (end is None):
        _fail("--start and --end go together", 2)
    if day:
        start = end = day
    _run(settings, start, end, allow_empty=allow_empty)


def _run(
    settings: Settings,
    start: date | None,
    end: date | None,
    *,
    allow_empty: bool = False,
    history: tuple[date, ...] = (),
) -> None:
    from dagster_project.deliveries import (
        RunError,
        check_range,
        delivered_span,
        refuse_empty_range,
    )

    if start is None or end is None:
        try:
            span = delivered_span(settings)
        except SourceFileError as error:
            _fail(f"cannot read {error}")
        if span is None:
            _fail(f"no landing files under {settings.landing_path} (nothing to run)")
        start, end = max(span[0], settings.start_date), span[1]
    try:
        _, is_demo_key = run_pseudonym_key(
            settings.privacy.key_env, demo=settings.privacy.demo, config_path=settings.config_path
        )
    except DemoKeyRefused as refused:
        _fail(str(refused), 2)
    if is_demo_key:
        click.echo(
            f"warning: {settings.privacy.key_env} is not set, so customer keys use the documented "
            "demo key; set a secret of your own before loading real customers",
            err=True,
        )
    began = time.monotonic()
    try:
        # A night when nothing arrived is answered before Dagster is imported (4 s of CPU).
        check_range(settings, start, end)
        if not allow_empty:
            refuse_empty_range(settings, start, end)
        from dagster_project.defs.engines import engine_for
        from dagster_project.pipeline import run_pipeline

        where = engine_for(settings).describe()
        click.echo(f"Running {start} .. {end} on {settings.warehouse_path}{where}", err=True)
        outcome = run_pipeline(settings, start, end, allow_empty=allow_empty, history=history)
    except RunError as error:
        for line in error.notes:
            click.echo(f"note: {line}", err=True)
        _fail(f"run {start}..{end} failed: {error}")
    for line in outcome.silent_sources:
        click.echo(f"note: {line}", err=True)
    runs = ", ".join(run_id[:8] for run_id in outcome.run_ids)
    click.echo(f"Done in {time.monotonic() - began:.0f}s (Dagster runs {runs}).", err=True)
    click.echo(f"Warehouse: {settings.warehouse_path}")
    for table, rows in outcome.tables.items():
        click.echo(f"  {table:<32} {rows:>12,} rows")


@main.command()
@CONFIG_OPTION
@click.option("--start", type=ISO_DATE, required=True, help="First day of the history.")
@click.option("--end", type=ISO_DATE, required=True, help="Last day of the history.")
@click.option(
    "--every",
    type=click.Choice(["month", "week", "day"]),
    default="month",
    show_default=True,
    help="As of every month's last day, every Sunday, or every day.",
)
def history(config: str | None, start: date, end: date, every: str) -> None:
    """Compute the analytics as of past days (segment history, transitions) from loaded data."""
    from dagster_project.deliveries import RunError
    from dagster_project.pipeline import history_days, run_history

    settings = _settings(config)
    days = history_days(start, end, every)
    click.echo(
        f"Analytics as of {len(days)} days: {', '.join(d.isoformat() for d in days[:6])}"
        f"{' …' if len(days) > 6 else ''}",
        err=True,
    )
    began = time.monotonic()
    try:
        outcome = run_history(settings, days)
    except RunError as error:
        _fail(f"history {start}..{end} failed: {error}")
    click.echo(
        f"Done in {time.monotonic() - began:.0f}s ({len(outcome.run_ids)} Dagster runs).", err=True
    )
    for table, rows in outcome.tables.items():
        click.echo(f"  {table:<32} {rows:>12,} rows")


# Sources delivered as day folders: a corrected file can take a delivered file's place.
REINGEST_SOURCES = tuple(source.name for source in (*FILE_SOURCES, SHOPIFY_ORDERS))


@main.group(invoke_without_command=True)
@CONFIG_OPTION
@click.option("--source", default=None, help="Only this source (e.g. pos_tickets).")
@click.option("--start", type=ISO_DATE, default=None, help="First day to list.")
@click.option("--end", type=ISO_DATE, default=None, help="Last day to list.")
@click.pass_context
def quarantine(
    ctx: click.Context, config: str | None, source: str | None, start: date | None, end: date | None
) -> None:
    """Rows set aside at ingest: counts by source, day and reason (`reingest` to correct a day)."""
    ctx.obj = config
    if ctx.invoked_subcommand is not None:
        return
    from dagster_project.lib.quarantine import quarantine_counts

    settings = _settings(config)
    with _read_warehouse(settings) as con:
        counts = quarantine_counts(con, source, start, end)
        (read,) = con.execute("select coalesce(sum(rows_read), 0) from ops.ingest_log").fetchone()
    if not counts:
        click.echo(f"No quarantined rows ({read:,} rows read).")
        return
    click.echo(f"{'source':<26} {'day':<10}  {'reason_code':<22} {'rows':>8}  description")
    for c in counts:
        day = c.day.isoformat() if c.day else "(no day)"
        click.echo(f"{c.source:<26} {day:<10}  {c.reason_code:<22} {c.rows:>8,}  {c.description}")
    total = sum(c.rows for c in counts)
    click.echo(
        f"{total:,} rows quarantined of {read:,} read. Rows: select * from quarantine.<source>"
    )


@quarantine.command()
@CONFIG_OPTION
@click.option("--source", required=True, type=click.Choice(REINGEST_SOURCES))
@click.option("--date", "day", required=True, type=ISO_DATE, help="The day the file was delivered.")
@click.argument("corrected", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_obj
def reingest(
    group_config: str | None, config: str | None, source: str, day: date, corrected: Path
) -> None:
    """Replace a delivered file with CORRECTED (same name) and run that day again."""
    from dagster_project.lib.quarantine import ReplaceError, file_counts, replace_delivered_file
    from dagster_project.lib.sources.specs import SOURCES_BY_NAME

    settings = _settings(config or group_config)
    source_dir = settings.folder_source_dir(source)
    if source_dir is None:
        _fail(f"source {source} is disabled in {settings.config_path}", 2)
    pattern = SOURCES_BY_NAME[source].file_glob
    try:
        kept = replace_delivered_file(settings.landing_path, source_dir, day, corrected, pattern)
    except ReplaceError as error:
        _fail(str(error), 2)
    click.echo(f"Replaced {corrected.name} of {source} on {day}; the original is kept in {kept}")
    _run(settings, day, day)
    with _read_warehouse(settings) as con:
        for f in file_counts(con, source, day, day):
            click.echo(
                f"  {f.file}: {f.rows_read:,} read = {f.rows_loaded:,} loaded "
                f"+ {f.rows_quarantined:,} quarantined"
            )


@main.command()
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    default=DEFAULT_CONFIG_NAME,
    show_default=True,
    help="Configuration to use; written with demo settings if missing.",
)
@click.option("--customers", default=20_000, show_default=True, type=click.IntRange(min=1))
@click.option("--seed", default=42, show_default=True, type=int)
def demo(config: str, customers: int, seed: int) -> None:
    """Generate the demo data (two years, 20,000 customers) and run the whole pipeline on it."""
    config_path = Path(config)
    if not config_path.exists():
        config_path.write_text(DEMO_CONFIG.format(start=DEMO_START.isoformat()), encoding="utf-8")
        click.echo(f"Wrote a demo configuration to {config_path}", err=True)
    # The demo is synthetic people: the documented demo key is allowed whatever the config says.
    settings = _settings(str(config_path))
    settings = settings.model_copy(
        update={"privacy": settings.privacy.model_copy(update={"demo": True})}
    )
    marker = settings.landing_path / "_truth" / "demo.txt"
    wanted = f"customers={customers} seed={seed} start={DEMO_START} end={DEMO_END}"
    if marker.exists() and marker.read_text(encoding="utf-8") == wanted:
        click.echo(f"Demo data already in {settings.landing_path}", err=True)
    else:
        # Only generated data is replaced: a landing folder without our truth files is refused.
        generated_before = (settings.landing_path / "_truth" / "parameters.json").exists()
        _generate(
            settings.landing_path, customers, DEMO_START, DEMO_END, seed, 0.0, generated_before
        )
        marker.write_text(wanted, encoding="utf-8")
    # The six month-ends before the last day run as the nights they would have been, so that
    # the first report shows trends, who moved between segments, how each month's files did
    # against control and how the plans advanced since their baseline (the first of them).
    _run(settings, DEMO_START, DEMO_END, history=demo_history())
    click.echo(f"Landing files: {settings.landing_path}")
    click.echo(f"Exports: {settings.resolve(settings.exports_dir)}")
    reports = settings.resolve(settings.reports_dir)
    click.echo(f"Reports: {reports} (open {reports / 'customer_report_latest.html'})")
    click.echo(f"For BI tools: {settings.resolve(settings.publish_dir)}")
    click.echo("Explore: loyalty ui  (Dagster on http://127.0.0.1:3000)")


@main.command()
@CONFIG_OPTION
@click.option("--port", default=3000, show_default=True, type=int)
def ui(config: str | None, port: int) -> None:
    """Open the Dagster UI for this project on 127.0.0.1."""
    settings = _settings(config)
    apply_environment(settings)
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (Ctrl-C to stop)", err=True)
    command = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-m",
        "dagster_project.definitions",
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
    ]
    # `dagster dev` suggests the newer `dg dev`, which expects a different project layout.
    env = {**os.environ, "PYTHONWARNINGS": "ignore:Function `dev_command` is superseded"}
    # Ctrl-C must stop the UI even when whatever started this command left SIGINT ignored (a
    # background job of a script does): take it back, and let a service manager's SIGTERM do
    # the same. dagster dev then starts with the default handlers, not with SIGINT ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # `dagster dev` and its webserver, daemon and code servers get a session of their own,
    # so that on Ctrl-C all of it can be stopped, and none of it outlives this command.
    process = subprocess.Popen(command, env=env, start_new_session=True)
    try:
        sys.exit(process.wait())
    except KeyboardInterrupt:
        _stop_dagster_dev(process)
        click.echo("Dagster UI stopped.", err=True)
        sys.exit(0)


def _stop_dagster_dev(process: subprocess.Popen, grace_seconds: float = 20) -> None:
    """Ask `dagster dev` to stop (Ctrl-C), and kill what is left of it after a grace time.

    Its daemon can take long to stop when a thread waits on a code server that already stopped.
    Its code servers and daemon may sit in process groups of their own, and are re-parented
    once it exits: what is killed is every process below it (listed before it is stopped) and
    every process left in its session.
    """
    below: list[psutil.Process] = []
    with contextlib.suppress(psutil.NoSuchProcess):
        below = psutil.Process(process.pid).children(recursive=True)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=grace_seconds)
    left = below + processes_in_session(process.pid)
    for each in left:
        with contextlib.suppress(psutil.NoSuchProcess):
            each.kill()
    psutil.wait_procs(left, timeout=10)
    process.wait()


if __name__ == "__main__":
    main()
