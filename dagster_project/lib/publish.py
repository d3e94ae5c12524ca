"""Publishing what BI tools read: a read-only copy of the warehouse and Parquet files.

BI tools must never hold the lock of the warehouse the nightly run writes, and a run must never
leave a dashboard reading half a table. So after a run the marts and analytics are copied into a
new DuckDB file and new Parquet files under temporary names, then renamed into place:
`<publish>/warehouse.duckdb` and `<publish>/parquet/<schema>/<table>.parquet`. A reader that has
the old file open keeps reading it; the next one opens the new one. Only marts and analytics are
published: no personal data (pii), no raw or quarantined rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from dagster_project.lib.warehouse import connect, quote_ident

PUBLISHED_SCHEMAS = ("marts", "analytics")
STORAGE_VERSION = "v1.0.0"
WAREHOUSE_FILE = "warehouse.duckdb"
PARQUET_DIR = "parquet"


@dataclass(frozen=True)
class Published:
    tables: dict[str, int]
    warehouse: Path
    parquet: Path


def _tables(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str]]:
    return con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_catalog = 'warehouse' and table_schema in ? order by 1, 2",
        [list(PUBLISHED_SCHEMAS)],
    ).fetchall()


def publish(warehouse: Path, publish_dir: Path, memory_limit: str | None = None) -> Published:
    """Copy the marts and analytics of `warehouse` into `publish_dir`, replacing the last copy.

    `memory_limit` is the warehouse's (`warehouse.memory_limit`): the copy is DuckDB's work too.
    """
    publish_dir.mkdir(parents=True, exist_ok=True)
    incoming_db = publish_dir / f".{WAREHOUSE_FILE}.incoming-{os.getpid()}"
    if incoming_db.exists():
        incoming_db.unlink()
    parquet_dir = publish_dir / PARQUET_DIR
    written: list[tuple[Path, Path]] = []
    counts: dict[str, int] = {}
    # The warehouse attached read-only beside the new file: reading never blocks on the writer's
    # lock longer than the copy takes, and nothing is written to it.
    con = connect(":memory:", memory_limit=memory_limit)
    try:
        con.execute(f"attach {_literal(warehouse)} as warehouse (read_only)")
        # Written in DuckDB 1.0's storage format: BI tools bundle their own, often older, DuckDB
        # (Metabase's driver, Node's for Evidence, duckdb-engine in Superset's environment).
        con.execute(
            f"attach {_literal(incoming_db)} as snapshot (storage_version '{STORAGE_VERSION}')"
        )
        for schema, table in _tables(con):
            name = f"{quote_ident(schema)}.{quote_ident(table)}"
            source = f"warehouse.{name}"
            con.execute(f"create schema if not exists snapshot.{quote_ident(schema)}")
            # Views (segment transitions) are published as tables: BI reads rows, not SQL.
            con.execute(f"create table snapshot.{name} as select * from {source}")
            (counts[f"{schema}.{table}"],) = con.execute(
                f"select count(*) from snapshot.{name}"
            ).fetchone()
            target = parquet_dir / schema / f"{table}.parquet"
            target.parent.mkdir(parents=True, exist_ok=True)
            incoming = target.with_name(f".{target.name}.incoming-{os.getpid()}")
            con.execute(f"copy (select * from {source}) to {_literal(incoming)} (format parquet)")
            written.append((incoming, target))
        con.execute("detach snapshot")
    finally:
        con.close()
    # Every file is complete before any replaces its predecessor; each rename is atomic.
    os.chmod(incoming_db, 0o444)
    incoming_db.replace(publish_dir / WAREHOUSE_FILE)
    for incoming, target in written:
        incoming.replace(target)
    _remove_stale(parquet_dir, {target for _, target in written})
    return Published(counts, publish_dir / WAREHOUSE_FILE, parquet_dir)


def _remove_stale(parquet_dir: Path, current: set[Path]) -> None:
    """Files of tables that no longer exist (a model dropped in an upgrade) go."""
    for path in parquet_dir.rglob("*.parquet"):
        if path not in current:
            path.unlink()


def _literal(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"
