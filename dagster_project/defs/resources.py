"""Resources: the warehouse (the DuckDB file, and Spark when it is the engine) and the dbt
project, pointing at the same warehouse."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster_dbt import DbtCliResource, DbtProject
from pydantic import Field

from dagster_project.lib.sources.csv_reader import sql_literal
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

# The pool every asset that writes the DuckDB file runs in; the instance limits it to one slot,
# because DuckDB allows one writer per file.
WAREHOUSE_POOL = "duckdb_warehouse"

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt"
# The dbt next to this Python, so a run works without activating the virtual environment.
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")


class WarehouseResource(dg.ConfigurableResource):
    """The embedded DuckDB warehouse file (schemas raw, staging, marts, analytics, pii, …), and
    with `engine: spark` the Spark session dbt and the CLV build the warehouse in (the file then
    holds ingest's tables and a copy of what Spark built: lib/spark/serving.py)."""

    path: str
    timezone: str = "Europe/Madrid"
    memory_limit: str | None = None
    threads: int | None = None
    engine: str = "duckdb"
    spark_master: str = "local[2]"
    spark_dir: str = "spark"
    spark_conf: dict[str, str] = Field(default_factory=dict)
    # Parquet files on their way between DuckDB and Spark (emptied after each copy).
    spark_staging: str = "spark_staging"

    @property
    def on_spark(self) -> bool:
        return self.engine == "spark"

    def spark(self) -> Any:
        """The process's SparkSession (started on first use, stopped when the run ends)."""
        from dagster_project.lib.spark.session import spark_session

        return spark_session(self.spark_master, Path(self.spark_dir), self.spark_conf)

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
