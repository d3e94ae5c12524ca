"""Resources: the warehouse (the DuckDB file) and the dbt project, pointing at the same
warehouse. Where dbt builds (DuckDB or Spark) is the engine's (defs/engines)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject

from dagster_project.lib.sources.csv_reader import sql_literal
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

# The pool every asset that writes the DuckDB file runs in; the instance limits it to one slot,
# because DuckDB allows one writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
# The dbt next to this Python, so a run works without activating the virtual environment.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file (schemas raw, staging, marts, analytics, pii, …): what ingest
    writes and every reader reads, whichever engine builds the models (defs/engines)."""

    path: str
    timezone: str = "Europe/Madrid"
    memory_limit: str | None = None
    threads: int | None = None

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A writing connection, closed on exit so dbt (another process) can open the file next.

        The session time zone is the retailer's, so timestamps with an offset are read as local
        time.
        """
        con = connect(self.path, memory_limit=self.memory_limit, threads=self.threads)
        try:
            con.execute(f"set TimeZone = {sql_literal(self.timezone)}")
            ensure_warehouse_tables(con)
            yield con
        finally:
            con.close()


def dbt_project(target_path: Path) -> DbtProject:
    """The dbt project, its manifest and artefacts in `target_path` (see dbt_target_path)."""
    return DbtProject(
        project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR, target_path=target_path
    )


def dbt_resource(project: DbtProject) -> DbtCliResource:
    return DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
