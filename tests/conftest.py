"""Test-wide set-up: no telemetry, and a throw-away Dagster home for every test session."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from prerequisites import unavailable

from dagster_project.lib.environment import TELEMETRY_OFF, prepare_dagster_home
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

REPO = Path(__file__).resolve().parents[1]


def _shared_datasets() -> Path:
    """The public datasets shared beside the repository (not copied into it)."""
    candidates = [
        Path(os.environ["LOYALTY_SHARED_DATASETS"])
        if os.environ.get("LOYALTY_SHARED_DATASETS")
        else None,
        REPO.parent / "shared" / "datasets",
        Path("/work/shared/datasets"),
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "online_retail").is_dir():
            return candidate
    raise FileNotFoundError(
        "the shared datasets are not beside the repository (../shared/datasets); "
        "set LOYALTY_SHARED_DATASETS to their folder"
    )


# The minimal loyalty.yml of the design (a retailer with one flat sales export), verbatim: it must
# work as it stands.
MINIMAL_CONFIG = """\
timezone: Europe/Madrid
landing_dir: landing            # absent folders = sources not delivered
warehouse: {path: warehouse.duckdb}
exports_dir: exports
sources:
  transactions:                 # the generic source
    path: sales/*.csv           # glob; csv or parquet by extension, or format: csv|parquet
    columns: {customer_id: CustomerID, order_id: InvoiceNo, ordered_at: InvoiceDate, amount: Total}
    # instead of amount: quantity: Quantity, unit_price: UnitPrice (amount = quantity × unit_price)
clv: {model: bgnbd, time_unit: W, holdout_days: 91}
"""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The modules marked `starts_first(minutes=M)` first, longest first, then the rest in their
    order: `make test` hands whole files to two workers in this order (--no-loadscope-reorder), and
    a module of ten minutes started last would leave one worker running it alone at the end."""

    def minutes(item: pytest.Item) -> float:
        marker = item.get_closest_marker("starts_first")
        return marker.kwargs["minutes"] if marker else 0

    items.sort(key=minutes, reverse=True)


@pytest.fixture
def minimal_config_text() -> str:
    return MINIMAL_CONFIG


@pytest.fixture
def con(tmp_path: Path):
    """An empty warehouse file with the ingest tables, in the retailer's time zone."""
    connection = connect(tmp_path / "warehouse.duckdb")
    connection.execute("set TimeZone = 'Europe/Madrid'")
    ensure_warehouse_tables(connection)
    yield connection
    connection.close()


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    return _shared_datasets()


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    os.environ.update(TELEMETRY_OFF)
    home = prepare_dagster_home(tmp_path_factory.mktemp("dagster_home"))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.pop("LOYALTY_CONFIG", None)
    # A key of the tests' own: outside demo mode a run refuses the documented demo key.
    os.environ["LOYALTY_PSEUDONYM_KEY"] = "loyalty-tests-key"
    yield


# --- the local PostgreSQL (127.0.0.1:5432, trust auth on our machines) -------------------------

POSTGRES_HOST = os.environ.get("LOYALTY_TEST_PG_HOST", "127.0.0.1")
POSTGRES_PORT = int(os.environ.get("LOYALTY_TEST_PG_PORT", "5432"))
POSTGRES_USER = os.environ.get("LOYALTY_TEST_PG_USER", "postgres")


@dataclass(frozen=True)
class PostgresDatabase:
    host: str
    port: int
    user: str
    name: str

    @property
    def url(self) -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.name}"

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with closing(_connect(self.name)) as connection, connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()


def _connect(database: str):
    import psycopg2  # installed with dagster-postgres

    connection = psycopg2.connect(
        host=POSTGRES_HOST,
        port=POSTGRES_PORT,
        user=POSTGRES_USER,
        dbname=database,
        connect_timeout=5,
    )
    connection.autocommit = True
    return connection


@contextmanager
def fresh_database(prefix: str) -> Iterator[PostgresDatabase]:
    """A new database on the local PostgreSQL, dropped on exit.

    Without a reachable server the test is skipped with the reason, except in CI, where the
    server is part of the machine and its absence is a failure.
    """
    import psycopg2

    try:
        admin = _connect("postgres")
    except psycopg2.OperationalError as error:
        detail = (str(error).strip().splitlines() or [type(error).__name__])[0]
        unavailable(f"PostgreSQL at {POSTGRES_HOST}:{POSTGRES_PORT} is not reachable: {detail}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with closing(admin), admin.cursor() as cursor:
        cursor.execute(f'create database "{name}"')
        try:
            yield PostgresDatabase(POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, name)
        finally:
            cursor.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def postgres_database() -> Callable[[str], AbstractContextManager[PostgresDatabase]]:
    """`with postgres_database("prefix") as db:` — a database of the test's own."""
    return fresh_database
