"""What a range of days has to load, known before Dagster starts: the days the landing folders
hold, whether anything at all was delivered for the range, and which sources stayed silent.

Kept apart from `pipeline` (which imports Dagster and builds the definitions, about 4 s of CPU)
so that `loyalty run` on a night when nothing arrived says so at once.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from dagster_project.config import DATABASE_TABLE_KEYS, Settings
from dagster_project.lib.sources.files import SourceFileError, delivered_days
from dagster_project.lib.sources.generic import date_span, matching_files
from dagster_project.lib.sources.specs import FILE_SOURCES, SHOPIFY_ORDERS
from dagster_project.lib.warehouse import connect


class RunError(Exception):
    """A run that could not start or did not succeed; the message is one line for the user,
    `notes` the lines that explain it (printed before it)."""

    def __init__(self, message: str, notes: list[str] | None = None):
        super().__init__(message)
        self.notes = notes or []


def today(settings: Settings) -> date:
    return datetime.now(ZoneInfo(settings.timezone)).date()


def delivered_span(settings: Settings) -> tuple[date, date] | None:
    """First and last day with data: day folders of every source, and the generic file's dates.

    A POS database holds changes up to now: with one, the span runs to today.
    """
    days: list[date] = [today(settings)] if settings.sources.pos_database is not None else []
    for source in (*FILE_SOURCES, SHOPIFY_ORDERS):
        folder = settings.folder_source_dir(source.name)
        if folder is not None:
            found = delivered_days(folder)
            days += found[:1] + found[-1:]
    generic = settings.sources.transactions
    if generic is not None:
        span = date_span(duckdb.connect(), generic.file_spec(), settings.landing_path)
        if span:
            days += list(span)
    return (min(days), max(days)) if days else None


def _configured_folder_sources(settings: Settings) -> dict[str, Path]:
    """Folder sources this project has: named in its config, or with their folder present (an
    absent folder of a source left at its default is a source the retailer does not deliver)."""
    named = settings.sources.model_fields_set
    found = {}
    for source in (*FILE_SOURCES, SHOPIFY_ORDERS):
        folder = settings.folder_source_dir(source.name)
        if folder is not None and (source.name in named or folder.is_dir()):
            found[source.name] = folder
    return found


def _where_it_looked(source_name: str, folder: Path) -> str:
    if not folder.is_dir():
        return f"its folder {folder} does not exist (sources.{source_name}.path is relative to landing_dir)"
    days = delivered_days(folder)
    held = f"; it holds {days[0]}..{days[-1]}" if days else ""
    return f"no day folder (date=YYYY-MM-DD) in that range under {folder}{held}"


NOTHING_DELIVERED = (
    "no source delivered any row, so there was nothing to load "
    "(--allow-empty computes the days from what is loaded)"
)


def files_delivered(settings: Settings, start: date, end: date) -> bool:
    """Whether any configured source has something dated in [start, end] to load: a day folder,
    an order in the generic file, or a POS database (which holds changes up to now)."""
    if settings.sources.pos_database is not None:
        return True
    for folder in _configured_folder_sources(settings).values():
        if any(start <= day <= end for day in delivered_days(folder)):
            return True
    generic = settings.sources.transactions
    if generic is not None:
        try:
            span = date_span(duckdb.connect(), generic.file_spec(), settings.landing_path)
        except SourceFileError:
            return True  # the ingest step says what is wrong with the file, naming it
        return bool(span) and span[0] <= end and span[1] >= start
    return False


def _rows_delivered(settings: Settings, start: date, end: date) -> dict[str, int]:
    """Rows each source delivered for [start, end], from ops.ingest_log (none before a first run)."""
    if not settings.warehouse_path.exists():
        return {}
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return dict(
            con.execute(
                "select source, sum(rows_read) from ops.ingest_log "
                "where partition_date between ? and ? group by source",
                [start, end],
            ).fetchall()
        )
    finally:
        con.close()


def silent_sources(settings: Settings, start: date, end: date) -> tuple[list[str], bool]:
    """A line for each configured source that delivered no row in [start, end], naming where
    it looked; and whether any source delivered a row at all (from ops.ingest_log)."""
    delivered = _rows_delivered(settings, start, end)
    span = f"{start}..{end}" if start != end else str(start)
    lines = []
    for name, folder in _configured_folder_sources(settings).items():
        if not delivered.get(name):
            where = _where_it_looked(name, folder)
            lines.append(f"sources.{name} delivered no row for {span}: {where}")
    generic = settings.sources.transactions
    if generic is not None and not delivered.get("transactions"):
        files = matching_files(generic.file_spec(), settings.landing_path)
        where = (
            f"{len(files)} file(s) match but none has an order dated in it"
            if files
            else "no file matches"
        )
        lines.append(
            f"sources.transactions delivered no row for {span}: {where} "
            f"(path {generic.path!r}, relative to landing_dir {settings.landing_path})"
        )
    database = settings.sources.pos_database
    for name, key in DATABASE_TABLE_KEYS.items():
        if database and getattr(database, key) and not delivered.get(name):
            lines.append(
                f"sources.pos_database.{key} delivered no row for {span}: no change in "
                f"the database named by ${database.url_env}"
            )
    return lines, any(rows for rows in delivered.values())


def check_range(settings: Settings, start: date, end: date) -> None:
    if start > end:
        raise RunError(f"--start {start} is after --end {end}")
    if start < settings.start_date:
        raise RunError(
            f"{start} is before start_date {settings.start_date} in {settings.config_path}; "
            "set start_date earlier to load older days"
        )
    latest = today(settings) + timedelta(days=1)
    if end > latest:
        raise RunError(f"{end} is in the future (the latest day that can be loaded is {latest})")


def refuse_empty_range(settings: Settings, start: date, end: date) -> None:
    """A RunError (with a line per silent source) when no source delivered anything dated in
    [start, end]: a run on nothing is no success."""
    if not files_delivered(settings, start, end):
        lines, _ = silent_sources(settings, start, end)
        raise RunError(NOTHING_DELIVERED, lines)
