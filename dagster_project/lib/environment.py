"""The process environment a run needs: telemetry off, one warehouse path, a Dagster home.

Nothing may call the network at run time, and dbt, Dagster and Great Expectations all report
usage by default. Each is switched off here, in one place the CLI, the tests and the dbt
subprocess share.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # lib/ depends on no entry point; the settings are only a type here
    from dagster_project.config import Settings

WAREHOUSE_ENV = "LOYALTY_WAREHOUSE_PATH"
MEMORY_LIMIT_ENV = "LOYALTY_DUCKDB_MEMORY_LIMIT"

TELEMETRY_OFF: dict[str, str] = {
    # dbt: no anonymous usage events, no "is there a newer version" request.
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DBT_VERSION_CHECK": "false",
    # Great Expectations: no analytics events.
    "GX_ANALYTICS_ENABLED": "false",
}

# Dagster reads its telemetry switch from $DAGSTER_HOME/dagster.yaml. The pool limit keeps the
# DuckDB file to one writer across concurrent runs (DuckDB allows one writer per file).
DAGSTER_YAML = """\
# Written by `loyalty` for a local instance; see deploy/ for a production instance.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def dbt_target_path(warehouse_path: Path) -> Path:
    """Where dbt keeps its manifest, parse state, logs and each run's artefacts for a warehouse.

    Beside the warehouse they describe, not in the dbt project: an installed project may be
    read-only, and two warehouses (projects, tests) then never take turns re-parsing one state.
    """
    return warehouse_path.parent / "dbt_target"


def dbt_target_environment(warehouse_path: Path) -> dict[str, str]:
    """The variables pointing dbt (and dagster-dbt, which reads DBT_TARGET_PATH) at them."""
    target = str(dbt_target_path(warehouse_path))
    return {WAREHOUSE_ENV: str(warehouse_path), "DBT_TARGET_PATH": target, "DBT_LOG_PATH": target}


def dbt_environment(warehouse_path: Path) -> dict[str, str]:
    """Environment for a dbt subprocess pointed at the warehouse file."""
    return {**os.environ, **TELEMETRY_OFF, **dbt_target_environment(warehouse_path)}


def prepare_dagster_home(dagster_home: Path) -> Path:
    """Create the Dagster home with telemetry off, unless it already has its own dagster.yaml."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return dagster_home


def duckdb_limits_environment(memory_limit: str | None) -> dict[str, str]:
    """loyalty.yml's DuckDB memory limit for dbt's connection (profiles.yml reads it).

    Without one DuckDB takes 80% of the RAM; past the limit it spills to a folder beside the
    warehouse file, so a big refresh slows down rather than failing.
    """
    return {MEMORY_LIMIT_ENV: memory_limit or "80%"}


def apply_environment(settings: Settings) -> None:
    """Set the variables Dagster code locations and dbt read, in this process and its children,
    from the settings: every entry point (the code location, `loyalty run`, `loyalty ui`) calls
    this one function."""
    os.environ.update(TELEMETRY_OFF)
    os.environ["LOYALTY_CONFIG"] = str(settings.config_path)
    os.environ.update(dbt_target_environment(settings.warehouse_path))
    os.environ.update(duckdb_limits_environment(settings.warehouse.memory_limit))
    os.environ["DAGSTER_HOME"] = str(prepare_dagster_home(settings.dagster_home))
