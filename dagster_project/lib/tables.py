"""The tables Python writes: the model fits, the exports' records, the runs' own bookkeeping.

One registry, from which each engine derives its DDL: `lib/warehouse.ensure_warehouse_tables`
creates all of them in the DuckDB file, and on Spark the ones dbt reads are created there too
(`lib/clv/on_spark.ensure_clv_tables`). The raw and quarantine tables come from the source registry
(`lib/sources/specs.py`); the rest of the warehouse is dbt's.
"""

from __future__ import annotations

from dataclasses import dataclass

from dagster_project.lib.sources.specs import INGEST_LOG_COLUMNS

Columns = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class PythonTable:
    schema: str
    name: str
    columns: Columns
    # dbt models read it as a source: it exists before the first build, and on Spark it is
    # written where dbt builds (the others live in the DuckDB file only).
    read_by_dbt: bool = False
    primary_key: tuple[str, ...] = ()

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]


# The CLV fit's scores and its fits (lib/clv); dbt's models after the fit read them.
CUSTOMER_CLV_COLUMNS: Columns = (
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
    ("expected_remaining_days", "DOUBLE"),
    ("predicted_margin_per_purchase", "DOUBLE"),
    ("predicted_margin_clv", "DOUBLE"),
    ("margin_method", "VARCHAR"),
)
CLV_MODEL_RUN_COLUMNS: Columns = (
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
CAMPAIGN_MEMBER_COLUMNS: Columns = (
    ("as_of_date", "DATE"),
    ("campaign", "VARCHAR"),
    ("customer_key", "VARCHAR"),
    ("value_tier", "VARCHAR"),
    ("is_control", "BOOLEAN"),
)
# How each export day's treated group did against its control group in the window after it.
CAMPAIGN_RESULT_COLUMNS: Columns = (
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
    # The same on gross margin, null unless every purchase in the window has one.
    ("treated_margin_per_head", "DOUBLE"),
    ("control_margin_per_head", "DOUBLE"),
    ("margin_per_head_lift", "DOUBLE"),
    ("margin_per_head_lift_low", "DOUBLE"),
    ("margin_per_head_lift_high", "DOUBLE"),
    ("incremental_margin", "DOUBLE"),
    # When the email tools reported on the wave: the treated members the message reached, their
    # share, and the lift per member reached (lib/exports/results.py); else null.
    ("treated_delivered", "BIGINT"),
    ("delivered_share", "DOUBLE"),
    ("purchase_rate_lift_per_delivered", "DOUBLE"),
    ("revenue_per_head_lift_per_delivered", "DOUBLE"),
)
# Each customer's response to each campaign wave (lib/exports/responses.py): one row per customer
# and wave, its latest measurement (as_of_date), final once the window has closed.
CUSTOMER_CAMPAIGN_RESPONSE_COLUMNS: Columns = (
    ("as_of_date", "DATE"),
    ("campaign", "VARCHAR"),
    ("export_date", "DATE"),
    ("window_end_date", "DATE"),
    ("is_complete", "BOOLEAN"),
    ("customer_key", "VARCHAR"),
    ("is_control", "BOOLEAN"),
    ("has_responded", "BOOLEAN"),
    ("first_purchase_date", "DATE"),
    ("days_to_respond", "INTEGER"),
    ("orders", "BIGINT"),
    ("revenue", "DOUBLE"),
    ("margin", "DOUBLE"),
    ("used_coupon", "BOOLEAN"),
    # What the email tools reported (marts.fct_campaign_activity); null when they reported
    # nothing on the wave.
    ("was_sent", "BOOLEAN"),
    ("was_delivered", "BOOLEAN"),
    ("has_opened", "BOOLEAN"),
    ("has_clicked", "BOOLEAN"),
    ("has_bounced", "BOOLEAN"),
)
# Each plan against its objective and its control group, per as-of day (lib/plans.py).
PLAN_PROGRESS_COLUMNS: Columns = (
    ("as_of_date", "DATE"),
    ("plan", "VARCHAR"),
    ("segment", "VARCHAR"),
    ("owner", "VARCHAR"),
    ("channel", "VARCHAR"),
    ("metric", "VARCHAR"),
    ("baseline_date", "DATE"),
    ("due_date", "DATE"),
    ("baseline_value", "DOUBLE"),
    ("target_value", "DOUBLE"),
    ("expected_value", "DOUBLE"),
    ("actual_value", "DOUBLE"),
    ("gap", "DOUBLE"),
    ("is_on_track", "BOOLEAN"),
    ("contacted", "BIGINT"),
    ("spend", "DOUBLE"),
    ("budget_total", "DOUBLE"),
    ("currency", "VARCHAR"),
    ("incremental_buyers", "DOUBLE"),
    ("incremental_revenue", "DOUBLE"),
    ("incremental_revenue_low", "DOUBLE"),
    ("incremental_revenue_high", "DOUBLE"),
    ("incremental_margin", "DOUBLE"),
    ("cost_per_incremental_customer", "DOUBLE"),
    ("roi", "DOUBLE"),
    ("roi_measure", "VARCHAR"),
)
# How far each database-fed raw table has read: the latest `updated_at` it loaded (one row per
# raw table; `source_file` names the database table the watermark belongs to).
SOURCE_WATERMARK_COLUMNS: Columns = (
    ("source", "VARCHAR"),
    ("source_file", "VARCHAR"),
    ("high_watermark", "TIMESTAMP"),
    ("is_utc", "BOOLEAN"),
    ("updated_at", "TIMESTAMP"),
)
# One row per file an export wrote (no personal data: counts and checksums).
EXPORT_LOG_COLUMNS: Columns = (
    ("as_of_date", "DATE"),
    ("tool", "VARCHAR"),
    ("segment", "VARCHAR"),
    ("file_name", "VARCHAR"),
    ("kind", "VARCHAR"),
    ("rows", "BIGINT"),
    ("sha256", "VARCHAR"),
    ("exported_at", "TIMESTAMP"),
)

CUSTOMER_CLV = PythonTable("analytics", "customer_clv", CUSTOMER_CLV_COLUMNS, read_by_dbt=True)
CLV_MODEL_RUNS = PythonTable("analytics", "clv_model_runs", CLV_MODEL_RUN_COLUMNS, read_by_dbt=True)
CAMPAIGN_MEMBERS = PythonTable("analytics", "campaign_members", CAMPAIGN_MEMBER_COLUMNS)
CAMPAIGN_RESULTS = PythonTable("analytics", "campaign_results", CAMPAIGN_RESULT_COLUMNS)
CUSTOMER_CAMPAIGN_RESPONSES = PythonTable(
    "analytics", "customer_campaign_responses", CUSTOMER_CAMPAIGN_RESPONSE_COLUMNS
)
PLAN_PROGRESS = PythonTable("analytics", "plan_progress", PLAN_PROGRESS_COLUMNS)
INGEST_LOG = PythonTable("ops", "ingest_log", INGEST_LOG_COLUMNS)
EXPORT_LOG = PythonTable("ops", "export_log", EXPORT_LOG_COLUMNS)
SOURCE_WATERMARKS = PythonTable("ops", "source_watermarks", SOURCE_WATERMARK_COLUMNS)
# Up to which export day each erased person's files were rewritten (lib/erasure/exports.py).
ERASURE_EXPORTS = PythonTable(
    "ops",
    "erasure_exports",
    (("customer_key", "VARCHAR"), ("purged_through", "DATE")),
    primary_key=("customer_key",),
)
# One row per marts build (lib/incremental_marts.py): the deliveries it covers (loaded after
# ingest_loaded_after, up to ingest_loaded_through), the fingerprint of what its rows depend on
# beyond them, and whether it finished.
MARTS_BUILDS = PythonTable(
    "ops",
    "marts_builds",
    (
        ("started_at", "TIMESTAMP"),
        ("ingest_loaded_through", "TIMESTAMP"),
        ("ingest_loaded_after", "TIMESTAMP"),
        ("fingerprint", "VARCHAR"),
        ("whole_because", "VARCHAR"),
        ("finished_at", "TIMESTAMP"),
    ),
)
PYTHON_TABLES: tuple[PythonTable, ...] = (
    CUSTOMER_CLV,
    CLV_MODEL_RUNS,
    CAMPAIGN_MEMBERS,
    CAMPAIGN_RESULTS,
    CUSTOMER_CAMPAIGN_RESPONSES,
    PLAN_PROGRESS,
    INGEST_LOG,
    EXPORT_LOG,
    SOURCE_WATERMARKS,
    ERASURE_EXPORTS,
    MARTS_BUILDS,
)
