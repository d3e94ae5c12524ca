"""Taking erased people out of the segment files of earlier days.

A segment file already written (an upsert that listed the person, the opt-out file that told
each tool to forget them) stays on disk in its dated folder. Once a person is erased, every such
file that named them is rewritten without their rows: the folders of the export days they were
sent in (`analytics.campaign_members`) and of each campaign's next export day (its opt-out and
leavers files), found by the keyed hash of the address in each row (of the number in E.164, in
the files of an SMS segment). The opt-out file of the
erasure's own day names them on purpose, so that each tool forgets them too: it is rewritten by
the next run, as a file of an earlier day. `ops.erasure_exports` remembers up to which export day
each erased person's files were rewritten, so a folder is read again only when a newer one may
name them.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from dagster_project.lib import contacts
from dagster_project.lib.exports import PROFILES, profile_for
from dagster_project.lib.exports.files import MANIFEST, ExportFile, publish_export
from dagster_project.lib.privacy import keyed_hash

# Export folders (campaign, day) that may still name an erased person whose files were not yet
# rewritten up to the latest export day: the days they were sent, and each next export day.
_PENDING_FOLDERS_SQL = """
with
erased as (
    select distinct customer_key from pii.erased_identities
),
pending as (
    select erased.customer_key, done.purged_through
    from erased
    left join ops.erasure_exports as done using (customer_key)
    where done.purged_through is null or done.purged_through < $latest
),
export_days as (
    select distinct segment as campaign, as_of_date from ops.export_log
),
sent as (
    select members.campaign, members.as_of_date, pending.customer_key, pending.purged_through
    from analytics.campaign_members as members
    inner join pending using (customer_key)
    where not members.is_control
),
next_days as (
    select sent.campaign, min(export_days.as_of_date) as as_of_date, sent.customer_key,
        sent.purged_through
    from sent
    inner join export_days
        on export_days.campaign = sent.campaign and export_days.as_of_date > sent.as_of_date
    group by sent.campaign, sent.as_of_date, sent.customer_key, sent.purged_through
),
folders as (
    select * from sent
    union all
    select * from next_days
),
-- An opt-out file names whoever stopped being contactable that day, sent or not (an unsubscribe
-- before the erasure, say): those small files are read on every day not yet rewritten.
optout_days as (
    select distinct log.tool, log.segment, log.as_of_date, 'optout' as kinds
    from ops.export_log as log
    where log.kind = 'optout'
        and exists (select 1 from pending)
        and log.as_of_date > coalesce(
            (select min(coalesce(purged_through, date '0001-01-01')) from pending),
            date '0001-01-01'
        )
),
member_days as (
    select distinct log.tool, log.segment, log.as_of_date, 'all' as kinds
    from folders
    inner join ops.export_log as log
        on log.segment = folders.campaign and log.as_of_date = folders.as_of_date
    where folders.purged_through is null or folders.as_of_date > folders.purged_through
)
select tool, segment, as_of_date, min(kinds) as kinds
from (select * from member_days union all select * from optout_days)
group by tool, segment, as_of_date
order by as_of_date, tool, segment
"""


@dataclass
class PurgedFiles:
    rows: int = 0
    files: int = 0


@dataclass(frozen=True)
class ErasedKeys:
    """The keyed hashes of every erased person's addresses and numbers, and the key they were
    made with: whether a file's value names an erased person."""

    emails: set[str]
    phones: set[str]
    pseudonym_key: str

    def names_erased(self, value: str, kind: str) -> bool:
        if not value:
            return False
        if kind == "phone":  # SMS files hold the E.164 form, the form the key was made of
            return keyed_hash(value, self.pseudonym_key, "phone") in self.phones
        normal = contacts.normalize_email(value)
        return normal is not None and keyed_hash(normal, self.pseudonym_key, "email") in self.emails


def _without_erased_csv(
    data: bytes, column: str, kind: str, delimiter: str, erased: ErasedKeys
) -> tuple[bytes, int, int]:
    """The CSV without the rows whose address is erased: (bytes, rows kept, rows removed).
    Read as records (a quoted value may hold a newline) and written back by the writer the
    export files are written with (lib/exports/files.py), so kept rows keep their bytes."""
    header, *rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=delimiter)
    index = header.index(column)
    kept = [row for row in rows if not erased.names_erased(row[index], kind)]
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerows([header, *kept])
    return buffer.getvalue().encode("utf-8"), len(kept), len(rows) - len(kept)


def _without_erased_parquet(
    data: bytes, column: str, kind: str, erased: ErasedKeys
) -> tuple[bytes, int, int]:
    table = pq.read_table(pa.BufferReader(data))
    keep = [not erased.names_erased(value, kind) for value in table.column(column).to_pylist()]
    kept = table.filter(pa.array(keep))
    if kept.num_rows == table.num_rows:
        return data, table.num_rows, 0
    buffer = io.BytesIO()
    kept.to_pandas().to_parquet(buffer, index=False)
    return buffer.getvalue(), kept.num_rows, table.num_rows - kept.num_rows


def _rewrite_folder(
    folder: Path,
    tool: str,
    delimiter: str,
    erased: ErasedKeys,
    only_kind: str | None = None,
) -> tuple[list[dict], int]:
    """Rewrite one dated export folder without the erased rows; its new file entries and the
    rows removed (the folder is left as it was when none were)."""
    manifest_path = folder / MANIFEST
    if not manifest_path.exists():
        return [], 0
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    # An SMS segment's files name people by their number (the manifest says the channel).
    profile = profile_for(tool, manifest.get("channel", "email"))
    column, kind = profile.address_column, profile.address_kind
    files, removed = [], 0
    for entry in manifest["files"]:
        data = (folder / entry["name"]).read_bytes()
        if only_kind and entry["kind"] != only_kind:
            new, rows, gone = data, entry["rows"], 0
        elif entry["name"].endswith(".parquet"):
            new, rows, gone = _without_erased_parquet(data, column, kind, erased)
        else:
            new, rows, gone = _without_erased_csv(data, column, kind, delimiter, erased)
        files.append(ExportFile(entry["name"], entry["kind"], new, rows))
        removed += gone
    if not removed:
        return manifest["files"], 0
    details = {key: value for key, value in manifest.items() if key != "files"}
    details["rows_removed_by_erasure"] = details.get("rows_removed_by_erasure", 0) + removed
    written = publish_export(folder, files, details)
    return written["files"], removed


def purge_export_files(
    con: duckdb.DuckDBPyConnection,
    exports_dir: Path,
    pseudonym_key: str,
    delimiters: dict[str, str],
) -> PurgedFiles:
    """Rewrite the earlier export folders that may name an erased person (module docstring).

    Needs the `erased_keys` table of lib/erasure/warehouse.py (the keyed hashes of every erased
    address) in the connection.
    """
    purged = PurgedFiles()
    (latest,) = con.execute("select max(as_of_date) from ops.export_log").fetchone()
    if latest is None:
        return purged
    folders = con.execute(_PENDING_FOLDERS_SQL, {"latest": latest}).fetchall()
    keys = con.execute(
        "select key_kind, key from erased_keys where key_kind in ('email', 'phone')"
    ).fetchall()
    erased = ErasedKeys(
        {key for kind, key in keys if kind == "email"},
        {key for kind, key in keys if kind == "phone"},
        pseudonym_key,
    )
    for tool, segment, day, kinds in folders:
        folder = exports_dir / tool / segment / day.isoformat()
        delimiter = delimiters.get(tool, PROFILES[tool].delimiter)
        entries, removed = _rewrite_folder(
            folder,
            tool,
            delimiter,
            erased,
            only_kind=None if kinds == "all" else kinds,
        )
        if not removed:
            continue
        purged.rows += removed
        purged.files += len(entries)
        for entry in entries:
            con.execute(
                "update ops.export_log set rows = $rows, sha256 = $sha256 where as_of_date = $day "
                "and tool = $tool and segment = $segment and file_name = $name",
                {
                    "rows": entry["rows"],
                    "sha256": entry["sha256"],
                    "day": day,
                    "tool": tool,
                    "segment": segment,
                    "name": entry["name"],
                },
            )
    _record_purged_through(con, latest)
    return purged


def _record_purged_through(con: duckdb.DuckDBPyConnection, latest: date) -> None:
    con.execute(
        """insert or replace into ops.erasure_exports
        select distinct customer_key, cast($latest as date) from pii.erased_identities""",
        {"latest": latest},
    )
