"""Connecting to the embedded DuckDB warehouse and creating the tables ingest writes."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import duckdb

from dagster_project.lib.sources.specs import (
    ALL_RAW_TABLES,
    INGEST_LOG_COLUMNS,
    QUARANTINE_COLUMNS,
    QUARANTINE_REASONS,
)

SCHEMAS = ("raw", "staging", "intermediate", "marts", "analytics", "pii", "quarantine", "ops")


def quote_ident(name: str) -> str:
    """Quote an SQL identifier (a column named by a user's mapping may hold anything)."""
    return '"' + name.replace('"', '""') + '"'


def connect(
    path: str | Path,
    *,
    read_only: bool = False,
    memory_limit: str | None = None,
    threads: int | None = None,
) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file with settings that never reach the network.

    Extensions DuckDB would otherwise download on first use (httpfs, …) stay off: a run must not
    depend on the internet. json, parquet and icu are built into the Python package.
    """
    config: dict[str, str | bool | int] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if memory_limit:
        config["memory_limit"] = memory_limit
    if threads:
        config["threads"] = threads
    if not read_only:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only, config=config)


# Analytics tables written by Python (model fits); dbt models after them read them as sources, so
# they exist from the start, like the raw tables.
CUSTOMER_CLV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE"),
    ("customer_key", "VARCHAR"),
    ("probability_alive", "DOUBLE"),
    ("expected_purchases_30d", "DOUBLE"),
    ("expected_purchases_90d", "DOUBLE"),
    ("expected_purchases_365d", "DOUBLE"),
    ("churn_probability_90d", "DOUBLE"),
    ("expected_next_purchase_date", "DATE"),
    ("predicted_spend_per_purchase", "DOUBLE"),
    ("predicted_clv", "DOUBLE"),
    ("historic_clv", "DOUBLE"),
    ("model", "VARCHAR"),
    ("method", "VARCHAR"),
    ("spend_model", "VARCHAR"),
    ("spend_method", "VARCHAR"),
)
CLV_MODEL_RUN_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE"),
    ("model", "VARCHAR"),
    ("stage", "VARCHAR"),
    ("selected", "BOOLEAN"),
    ("status", "VARCHAR"),
    ("method", "VARCHAR"),
    ("message", "VARCHAR"),
    ("parameters", "VARCHAR"),
    ("log_likelihood", "DOUBLE"),
    ("converged", "BOOLEAN"),
    ("penalizer", "DOUBLE"),
    ("tolerance", "DOUBLE"),
    ("attempts", "INTEGER"),
    ("customers", "BIGINT"),
    ("rows_fitted", "BIGINT"),
    ("seconds", "DOUBLE"),
    ("time_unit", "VARCHAR"),
    ("calibration_end_date", "DATE"),
    ("holdout_days", "INTEGER"),
    ("holdout_customers", "BIGINT"),
    ("holdout_mae", "DOUBLE"),
    ("holdout_rmse", "DOUBLE"),
    ("holdout_total_pct_error", "DOUBLE"),
    ("selection_metric", "VARCHAR"),
    ("frequency_spend_correlation", "DOUBLE"),
)
# Who each export held out and who it sent to (one row per campaign, customer and export day).
CAMPAIGN_MEMBER_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE"),
    ("campaign", "VARCHAR"),
    ("customer_key", "VARCHAR"),
    ("value_tier", "VARCHAR"),
    ("is_control", "BOOLEAN"),
)
# How each export day's treated group did against its control group in the window after it.
CAMPAIGN_RESULT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE"),
    ("campaign", "VARCHAR"),
    ("export_date", "DATE"),
    ("window_end_date", "DATE"),
    ("is_complete", "BOOLEAN"),
    ("treated", "BIGINT"),
    ("control", "BIGINT"),
    ("treated_buyers", "BIGINT"),
    ("control_buyers", "BIGINT"),
    ("treated_purchase_rate", "DOUBLE"),
    ("control_purchase_rate", "DOUBLE"),
    ("purchase_rate_lift", "DOUBLE"),
    ("purchase_rate_lift_low", "DOUBLE"),
    ("purchase_rate_lift_high", "DOUBLE"),
    ("treated_revenue_per_head", "DOUBLE"),
    ("control_revenue_per_head", "DOUBLE"),
    ("revenue_per_head_lift", "DOUBLE"),
    ("revenue_per_head_lift_low", "DOUBLE"),
    ("revenue_per_head_lift_high", "DOUBLE"),
    ("incremental_buyers", "DOUBLE"),
    ("incremental_revenue", "DOUBLE"),
)
# How far each database-fed raw table has read: the latest `updated_at` it loaded (one row per
# raw table; `source_file` names the database table the watermark belongs to).
SOURCE_WATERMARK_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("high_watermark", "TIMESTAMP"),
    ("is_utc", "BOOLEAN"),
    ("updated_at", "TIMESTAMP"),
)
PYTHON_ANALYTICS_TABLES = {
    "customer_clv": CUSTOMER_CLV_COLUMNS,
    "clv_model_runs": CLV_MODEL_RUN_COLUMNS,
    "campaign_members": CAMPAIGN_MEMBER_COLUMNS,
    "campaign_results": CAMPAIGN_RESULT_COLUMNS,
}
# One row per file an export wrote (no personal data: counts and checksums).
EXPORT_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("as_of_date", "DATE"),
    ("tool", "VARCHAR"),
    ("segment", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("rows", "BIGINT"),
    ("sha256", "VARCHAR"),
    ("exported_at", "TIMESTAMP"),
)


def _column_list(columns: Iterable[tuple[str, str]]) -> str:
    return ", ".join(f"{quote_ident(name)} {sql_type}" for name, sql_type in columns)


def ensure_warehouse_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create the schemas and every table Python writes, if missing: raw, quarantine and ops
    (ingest, exports, erasure) and the analytics tables of the model fits and exports.

    All raw tables exist even for sources a retailer does not deliver, so the dbt models that
    union the sources always find their inputs.
    """
    for schema in SCHEMAS:
        con.execute(f"create schema if not exists {schema}")
    quarantined = {source.name for source in ALL_RAW_TABLES}
    for source in ALL_RAW_TABLES:
        con.execute(
            f"create table if not exists raw.{source.name} ({_column_list(source.raw_columns())})"
        )
    # Shopify order lines and refund lines are quarantined with their order.
    for name in quarantined - {"shopify_order_lines", "shopify_refund_lines"}:
        con.execute(
            f"create table if not exists quarantine.{name} ({_column_list(QUARANTINE_COLUMNS)})"
        )
    con.execute(f"create table if not exists ops.ingest_log ({_column_list(INGEST_LOG_COLUMNS)})")
    con.execute(f"create table if not exists ops.export_log ({_column_list(EXPORT_LOG_COLUMNS)})")
    # Up to which export day each erased person's files were rewritten (lib/erasure/exports.py).
    con.execute(
        "create table if not exists ops.erasure_exports "
        "(customer_key varchar primary key, purged_through date)"
    )
    con.execute(
        "create table if not exists ops.source_watermarks "
        f"({_column_list(SOURCE_WATERMARK_COLUMNS)})"
    )
    for name, columns in PYTHON_ANALYTICS_TABLES.items():
        con.execute(f"create table if not exists analytics.{name} ({_column_list(columns)})")
    con.execute(
        "create or replace table ops.quarantine_reasons (reason_code varchar, description varchar)"
    )
    con.executemany(
        "insert into ops.quarantine_reasons values (?, ?)",
        [(r.code, r.description) for r in QUARANTINE_REASONS],
    )
