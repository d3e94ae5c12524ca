"""Whether tonight's marts build may be incremental, and the record of every marts build.

The transaction models (int_transaction_lines_unioned, fct_transaction_lines, fct_transactions)
are incremental on DuckDB: a build computes again only the transactions that the deliveries
since the last completed build, or a change of person, touched (dbt's int_transactions_changed).
What no delivered row can tell makes the build whole instead (`dbt build --full-refresh` of the
marts' selection, which leaves the analytics' days alone):

- no completed build on record, or the last one did not finish (a failed build may have
  replaced some transactions and not others);
- the models, macros or settings changed since (an upgrade, a new `margins` rate);
- the catalogue's values that the lines are valued with changed (a category, a VAT rate, a unit
  cost, a prescription flag);
- most deliveries were loaded again (a range run again): replacing nearly every transaction
  costs more than building them.

`ops.marts_builds` keeps one row per build: when it started, the deliveries it covers (those
loaded after `ingest_loaded_after`, the last completed build's `ingest_loaded_through`, and up to
its own `ingest_loaded_through`, the newest `ops.ingest_log.loaded_at` when it started), the
fingerprint of the models, settings and catalogue, why it was whole (null when incremental), and
when it finished. The watermark is worked out here only: int_transactions_changed reads the
deliveries after the current build's `ingest_loaded_after`.
`warehouse.incremental_marts: false` makes every build whole.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

# What fct_transaction_lines takes from the catalogue (through dim_products): a change of one of
# these revalues lines of any day.
CATALOGUE_VALUE_COLUMNS = ("sku", "category", "vat_rate", "unit_cost", "is_prescription")
INCREMENTAL_MODEL = "intermediate.int_transaction_lines_unioned"
# Past this share of the deliveries loaded since the last build, a whole build is cheaper.
MOST_DELIVERIES = 0.5


@dataclass(frozen=True)
class MartsBuild:
    started_at: datetime
    # Why the build is whole (`dbt build --full-refresh`); None when it is incremental.
    whole_because: str | None

    @property
    def whole(self) -> bool:
        return self.whole_because is not None


def fingerprint(con: duckdb.DuckDBPyConnection, manifest_path: Path, dbt_vars: dict) -> str:
    """A digest of what the transaction models' rows depend on beyond the delivered rows."""
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    digest = hashlib.sha256(json.dumps(dbt_vars, sort_keys=True).encode())
    for unique_id, node in sorted(manifest["nodes"].items()):
        if node["resource_type"] == "model":
            digest.update(f"{unique_id}={node['checksum']['checksum']}\n".encode())
    for unique_id, macro in sorted(manifest["macros"].items()):
        if macro["package_name"] == manifest["metadata"].get("project_name", "loyalty"):
            digest.update(f"{unique_id}={macro['macro_sql']}\n".encode())
    columns = ", ".join(CATALOGUE_VALUE_COLUMNS)
    for row in con.execute(
        f"select distinct {columns} from raw.catalog_products order by all"
    ).fetchall():
        digest.update(repr(row).encode())
    return digest.hexdigest()


def _loaded_after(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """The newest delivery the last completed build covered (None: no completed build)."""
    (loaded_after,) = con.execute(
        "select max(ingest_loaded_through) from ops.marts_builds where finished_at is not null"
    ).fetchone()
    return loaded_after


def _why_whole(
    con: duckdb.DuckDBPyConnection,
    fingerprint_now: str,
    incremental: bool,
    loaded_after: datetime | None,
) -> str | None:
    if not incremental:
        return "warehouse.incremental_marts is off"
    schema, table = INCREMENTAL_MODEL.split(".")
    (built,) = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = ? and table_name = ? and table_catalog = current_database()",
        [schema, table],
    ).fetchone()
    last = con.execute(
        "select fingerprint, finished_at from ops.marts_builds order by started_at desc limit 1"
    ).fetchone()
    if not built or last is None:
        return "first build"
    if last[1] is None:
        return "the last marts build did not finish"
    if last[0] != fingerprint_now:
        return "the models, the settings or the catalogue's values changed"
    changed, deliveries = con.execute(
        "select count(*) filter (where loaded_at > ?), count(*) from ops.ingest_log",
        [loaded_after],
    ).fetchone()
    if deliveries and changed > MOST_DELIVERIES * deliveries:
        return f"most deliveries were loaded again ({changed} of {deliveries})"
    return None


def begin_marts_build(
    con: duckdb.DuckDBPyConnection, fingerprint_now: str, *, incremental: bool = True
) -> MartsBuild:
    """Record the build's start and decide whether it must be whole (always, when `incremental`
    is off: warehouse.incremental_marts)."""
    loaded_after = _loaded_after(con)
    because = _why_whole(con, fingerprint_now, incremental, loaded_after)
    (started_at,) = con.execute("select cast(current_timestamp as timestamp)").fetchone()
    con.execute(
        "insert into ops.marts_builds "
        "(started_at, ingest_loaded_after, ingest_loaded_through, fingerprint, whole_because) "
        "select ?, ?, max(loaded_at), ?, ? from ops.ingest_log",
        [started_at, loaded_after, fingerprint_now, because],
    )
    return MartsBuild(started_at, because)


def finish_marts_build(con: duckdb.DuckDBPyConnection, build: MartsBuild) -> int:
    """Mark the build finished; returns how many transactions it computed again (incremental)."""
    con.execute(
        "update ops.marts_builds set finished_at = cast(current_timestamp as timestamp) "
        "where started_at = ?",
        [build.started_at],
    )
    (changed,) = con.execute(
        "select count(*) from intermediate.int_transactions_changed"
    ).fetchone()
    return changed
