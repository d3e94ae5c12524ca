"""Reading the quarantine back, and putting a corrected file in place of a delivered one.

`loyalty quarantine` lists what ingest set aside (counts by source, day and reason, with the
reason's description from `ops.quarantine_reasons`) and re-ingests a corrected file: the file
replaces the delivered one in its day folder, the original is kept under `<landing>/_replaced/`,
and the day is loaded again (a day's load replaces that day, so counts reconcile again).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from dagster_project.lib.sources.files import day_files, day_folder
from dagster_project.lib.warehouse import quote_ident

REPLACED_DIR = "_replaced"


@dataclass(frozen=True)
class QuarantineCount:
    source: str
    day: date | None
    reason_code: str
    description: str
    rows: int


@dataclass(frozen=True)
class FileCount:
    """One file's line in `ops.ingest_log`: what it held and where each row went."""

    source: str
    day: date | None
    file: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int


def quarantine_counts(
    con: duckdb.DuckDBPyConnection,
    source: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> list[QuarantineCount]:
    """Quarantined rows by source, day and reason, in that order."""
    tables = [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'quarantine' order by 1"
        ).fetchall()
        if source is None or name == source
    ]
    if not tables:
        return []
    union = " union all ".join(
        f"select '{name}' as source, partition_date, reason_code "
        f"from quarantine.{quote_ident(name)}"
        for name in tables
    )
    rows = con.execute(
        f"""select q.source, q.partition_date, q.reason_code,
                coalesce(r.description, '') as description, count(*) as rows
        from ({union}) as q
        left join ops.quarantine_reasons as r using (reason_code)
        where (? is null or q.partition_date >= ?) and (? is null or q.partition_date <= ?)
        group by all
        order by q.source, q.partition_date nulls first, rows desc, q.reason_code""",
        [start, start, end, end],
    ).fetchall()
    return [QuarantineCount(*row) for row in rows]


def file_counts(
    con: duckdb.DuckDBPyConnection, source: str, start: date | None = None, end: date | None = None
) -> list[FileCount]:
    """The ingest log of a source's files, by day and file."""
    rows = con.execute(
        """select source, partition_date, source_file, sum(rows_read), sum(rows_loaded),
                sum(rows_quarantined)
        from ops.ingest_log
        where source = ? and (? is null or partition_date >= ?)
            and (? is null or partition_date <= ?)
        group by all
        order by partition_date, source_file""",
        [source, start, start, end, end],
    ).fetchall()
    return [FileCount(*row) for row in rows]


class ReplaceError(Exception):
    """The corrected file cannot take a delivered file's place; the message says why in a line."""


def replace_delivered_file(
    landing_dir: Path, source_dir: Path, day: date, corrected: Path, pattern: str
) -> Path:
    """Put `corrected` in place of the day's delivered file of the same name.

    The original is kept under `<landing>/_replaced/<source folder>/date=<day>/`, stamped with the
    time it was replaced, so what the source really sent is never lost. Returns that copy's path.
    """
    if not corrected.is_file():
        raise ReplaceError(f"{corrected}: no such file")
    delivered = day_files(source_dir, day, pattern)
    target = day_folder(source_dir, day) / corrected.name
    if target not in delivered:
        names = ", ".join(p.name for p in delivered) or "none"
        raise ReplaceError(
            f"no file named {corrected.name} was delivered on {day} in {source_dir} "
            f"(delivered: {names})"
        )
    if corrected.resolve() == target.resolve():
        raise ReplaceError(
            f"{corrected} is the delivered file itself: give a corrected copy kept elsewhere"
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    folder = day_folder(source_dir, day)
    try:
        relative = folder.relative_to(landing_dir)
    except ValueError:  # a source configured outside the landing folder
        relative = Path(source_dir.name) / folder.name
    keep_dir = landing_dir / REPLACED_DIR / relative
    keep_dir.mkdir(parents=True, exist_ok=True)
    kept = keep_dir / f"{stamp}-{target.name}"
    shutil.copy2(target, kept)
    # Copied beside the target, then renamed over it: a reader never sees half a file.
    incoming = target.with_name(f".{target.name}.incoming")
    shutil.copyfile(corrected, incoming)
    incoming.replace(target)
    return kept
