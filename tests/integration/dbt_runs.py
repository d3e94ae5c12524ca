"""What the dbt integration tests share: the project, a small generated warehouse's raw tables
loaded by the ingest loaders, dbt's command line, and a CLV that is a known function of RFM."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

from dagster_project.config import Settings
from dagster_project.defs.ingest.assets import ingest_context
from dagster_project.lib.environment import dbt_environment
from dagster_project.lib.sources.load import load_csv_source
from dagster_project.lib.sources.shopify import load_shopify_customers, load_shopify_orders
from dagster_project.lib.sources.specs import FILE_SOURCES, SHOPIFY_ORDERS
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

DBT_DIR = Path(__file__).resolve().parents[2] / "dbt"
DBT_EXECUTABLE = Path(sys.executable).parent / "dbt"

# A day's CLV written where the CLV asset writes it: a known function of the purchase summary
# (the model fit has tests of its own), so what reads it can be recomputed.
FAKE_CLV_SQL = """
insert into analytics.customer_clv (as_of_date, customer_key, probability_alive, predicted_clv,
                                    expected_remaining_days, predicted_margin_clv, model, method)
select as_of_date, customer_key,
       1.0 / (1 + days_since_last_purchase / 60.0),
       cast(total_net_amount as double) * 0.37 + frequency * 1.1,
       1825.0 / (1 + days_since_last_purchase / 60.0),
       abs(cast(total_margin_amount as double)) * 0.5,
       'test', 'known function'
from analytics.customer_rfm
where as_of_date = ?
"""


def write_fake_clv(warehouse: Path, as_of: date) -> None:
    """Replace the CLV of `as_of` by FAKE_CLV_SQL's (customer_rfm of that day must be built)."""
    con = connect(warehouse)
    try:
        con.execute("delete from analytics.customer_clv where as_of_date = ?", [as_of])
        con.execute(FAKE_CLV_SQL, [as_of])
    finally:
        con.close()


def load_landing(settings: Settings, start: date, end: date) -> None:
    """Every landing file of [start, end] into raw, by the loaders the ingest assets call."""
    ctx = ingest_context(settings)
    con = connect(settings.warehouse_path)
    try:
        ensure_warehouse_tables(con)
        for source in FILE_SOURCES:
            folder = settings.folder_source_dir(source.name)
            if source.format == "jsonl":
                load_shopify_customers(con, folder, start, end, ctx)
            else:
                load_csv_source(con, source, folder, start, end, ctx)
        load_shopify_orders(con, settings.folder_source_dir(SHOPIFY_ORDERS.name), start, end, ctx)
    finally:
        con.close()


def dbt_arguments(command: str, dbt_vars: dict, work_dir: Path, *selection: str) -> list[str]:
    """dbt's arguments (after the executable) for the project, artefacts and logs in work_dir."""
    return [
        command,
        *selection,
        "--project-dir",
        str(DBT_DIR),
        "--profiles-dir",
        str(DBT_DIR),
        "--target-path",
        str(work_dir / "target"),
        "--log-path",
        str(work_dir / "logs"),
        "--vars",
        json.dumps(dbt_vars),
    ]


def duckdb_build(warehouse: Path, dbt_vars: dict, work_dir: Path, *selection: str) -> None:
    """`dbt build` of the selection on the DuckDB warehouse file; asserts it succeeded."""
    result = subprocess.run(
        [str(DBT_EXECUTABLE), *dbt_arguments("build", dbt_vars, work_dir, *selection)],
        cwd=DBT_DIR,
        env=dbt_environment(warehouse),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, f"dbt build on DuckDB failed:\n{result.stdout[-8000:]}"
