"""The warehouse engine: where dbt builds and the CLV is fitted, and how what they built reaches
the readers (the checks, exports, BI copy and report all read the DuckDB file).

Chosen once, when the definitions are built (`engine_for`); the asset bodies call it and never
ask which engine it is. `duckdb.py` builds in the file itself; `spark.py` builds on Spark and
copies back what the readers need. `base.Engine` is what each provides.
"""

from __future__ import annotations

from dagster_project.config import Settings
from dagster_project.defs.engines.base import DbtBuild, Engine
from dagster_project.defs.engines.duckdb import DuckDBEngine
from dagster_project.defs.engines.spark import SparkEngine

__all__ = ["DbtBuild", "Engine", "engine_for"]


def engine_for(settings: Settings) -> Engine:
    """The engine `warehouse.engine` names."""
    if settings.warehouse.engine == "spark":
        return SparkEngine(
            master=settings.warehouse.spark.master,
            folder=settings.spark_dir,
            staging=settings.spark_staging,
            warehouse_path=settings.warehouse_path,
            conf=dict(settings.warehouse.spark.conf),
        )
    return DuckDBEngine(incremental_marts=settings.warehouse.incremental_marts)
