"""Dagster's local storage (SQLite) with an event log that does not wait for the disk.

Every event of a run (a step starting, each partition of a range materialized, a check) is one
SQLite transaction in Dagster's local storage, and an asset event two more in the index database.
Upstream opens a new SQLAlchemy engine and a new SQLite connection for each of them; closing the
file's last connection checkpoints and removes its write-ahead log, so every event rewrote it and
flushed it to disk. Loading a range of 120 days writes some 2,600 events, and a run spent more time
on them than on the data (BENCHMARKS.md, "Fixed costs").

This storage is upstream's with one change to the event log: one engine per database file for
the life of the process, which keeps one connection open, and `synchronous=NORMAL`, SQLite's
recommended setting in WAL mode (a commit survives a crash of the process; a power cut can lose the
last commits, never the file). Other processes (the UI, the daemon) read and write the same files
as before. A production instance keeps its events in PostgreSQL (deploy/dagster.yaml) instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage
from dagster._core.storage.schedules.sqlite.sqlite_schedule_storage import SqliteScheduleStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._core.storage.sqlite_storage import (
    DagsterSqliteStorage,
    _event_logs_directory,
    _runs_directory,
    _schedule_directory,
)
from dagster._serdes import ConfigurableClassData
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool


def _commit_without_flush(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class LocalEventLogStorage(SqliteEventLogStorage):
    """SqliteEventLogStorage with one engine per file and commits that do not flush to disk."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: dict[str, Engine] = {}
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalEventLogStorage:
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        if shard not in self._engines:
            engine = sa.create_engine(
                self.conn_string_for_shard(shard),
                # One connection kept open; creating a file's tables borrows a few more briefly.
                poolclass=QueuePool,
                pool_size=1,
                max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            sa.event.listen(engine, "connect", _commit_without_flush)
            self._engines[shard] = engine
        return self._engines[shard]

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # As upstream: one thread at a time, the file's tables made on its first use.
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as connection, connection.begin():
                yield connection

    def dispose(self) -> None:
        super().dispose()
        for engine in self._engines.values():
            engine.dispose()
        self._engines.clear()


class LocalSqliteStorage(DagsterSqliteStorage):
    """Dagster's default local storage (runs, schedules in SQLite) with LocalEventLogStorage."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self.base_dir = base_dir
        self._run_storage = SqliteRunStorage.from_local(_runs_directory(base_dir))
        self._event_log_storage = LocalEventLogStorage(_event_logs_directory(base_dir))
        self._schedule_storage = SqliteScheduleStorage.from_local(_schedule_directory(base_dir))
        self._inst_data = inst_data
        super(DagsterSqliteStorage, self).__init__()

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> LocalSqliteStorage:
        return cls.from_local(inst_data=inst_data, **config_value)

    @property
    def event_storage_data(self) -> ConfigurableClassData:
        return ConfigurableClassData(
            __name__,
            LocalEventLogStorage.__name__,
            yaml.dump({"base_dir": _event_logs_directory(self.base_dir)}),
        )
