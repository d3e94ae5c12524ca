"""What the customer report shows, read from the warehouse as of one day into small frames.

Every function takes an open DuckDB connection and the as-of day D and returns aggregates only:
counts, shares, amounts and distributions per group, never a customer key or anything that
names a person. A table that does not exist yet (a warehouse before its first run) reads as
empty, so the page can say what is missing instead of failing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from dagster_project.lib.quarantine import quarantine_counts
from dagster_project.lib.report.plans import PlansData, load_plans_data
from dagster_project.lib.report.reading import frame_or_empty, table_exists

TIER_ORDER = ("gold", "silver", "bronze", "wood")
STAGE_ORDER = ("prospect", "new", "active", "reactivated", "at_risk", "lapsed", "lost")
NO_VALUE = "(none)"
PARETO_POINTS = 201

# The headline KPIs of analytics.kpi_daily, in the order the page shows them.
HEADLINE_KPIS = (
    "customers",
    "active_customers_90d",
    "new_customers_30d",
    "repeat_purchase_rate",
    "churn_rate_30d",
    "average_order_value_30d_amount",
    "net_revenue_30d_amount",
    "top_revenue_share",
    "average_predicted_clv_amount",
)
KPI_HISTORY_COLUMNS = (
    "active_customers_30d",
    "active_customers_90d",
    "repeat_purchase_rate",
    "churn_rate_30d",
    "average_order_value_30d_amount",
    "net_revenue_30d_amount",
)


# --- headline KPIs and their trend ---------------------------------------------------------------


@dataclass(frozen=True)
class Kpis:
    """The day's row of analytics.kpi_daily and the row of the as-of day before it, if any."""

    as_of: date
    values: dict[str, Any]
    previous_as_of: date | None = None
    previous: dict[str, Any] | None = None


def _kpi_columns() -> str:
    names = sorted(set(HEADLINE_KPIS) | set(KPI_HISTORY_COLUMNS))
    # Money columns are decimals in the warehouse; doubles are enough for a page.
    return ", ".join(f"cast({n} as double) as {n}" for n in names)


def kpi_history(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """analytics.kpi_daily of every as-of day computed up to D, oldest first."""
    columns = ("as_of_date", *sorted(set(HEADLINE_KPIS) | set(KPI_HISTORY_COLUMNS)))
    return frame_or_empty(
        con,
        f"select as_of_date, {_kpi_columns()} from analytics.kpi_daily "
        "where as_of_date <= ? order by as_of_date",
        [as_of],
        ("analytics.kpi_daily",),
        columns,
    )


def headline_kpis(history: pd.DataFrame, as_of: date) -> Kpis | None:
    """D's KPIs from `kpi_history`, with those of the latest earlier as-of day for comparison;
    None without a row for D."""
    if history.empty:
        return None
    history = history.assign(as_of_date=pd.to_datetime(history["as_of_date"]).dt.date)
    today = history[history["as_of_date"] == as_of]
    if today.empty:
        return None
    earlier = history[history["as_of_date"] < as_of]

    def values(row: pd.Series) -> dict[str, Any]:
        return {k: (None if pd.isna(row[k]) else row[k]) for k in HEADLINE_KPIS}

    if earlier.empty:
        return Kpis(as_of, values(today.iloc[-1]))
    last = earlier.iloc[-1]
    return Kpis(as_of, values(today.iloc[-1]), last["as_of_date"], values(last))


def monthly_activity(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per calendar month up to D's: customers with a purchase, first-time customers, purchases
    and their value (prescription lines included, net of returns by D), from D's cohort table.

    Every customer belongs to exactly one cohort, so summing the cohorts' retained customers of a
    month counts each buyer of that month once.
    """
    return frame_or_empty(
        con,
        """select activity_month as month,
            sum(retained_customers) as active_customers,
            sum(case when months_since_first_purchase = 0 then cohort_customers else 0 end)
                as new_customers,
            sum(orders_count) as orders,
            cast(sum(net_amount) as double) as net_amount,
            bool_and(is_complete_month) as is_complete_month
        from analytics.cohort_retention
        where as_of_date = ?
        group by activity_month
        order by activity_month""",
        [as_of],
        ("analytics.cohort_retention",),
        ("month", "active_customers", "new_customers", "orders", "net_amount", "is_complete_month"),
    )


# --- segments, tiers, Pareto ---------------------------------------------------------------------


def group_sizes(con: duckdb.DuckDBPyConnection, as_of: date, column: str) -> pd.DataFrame:
    """Customers and revenue (total_net_amount by D) per RFM segment or value tier, with their
    shares of all customers', largest revenue first (tiers in their own order)."""
    if column not in ("rfm_segment", "value_tier"):
        raise ValueError(f"no group sizes by {column}")
    frame = frame_or_empty(
        con,
        f"""select coalesce({column}, ?) as group_name,
            count(*) as customers,
            cast(coalesce(sum(total_net_amount), 0) as double) as revenue_amount
        from analytics.customer_rfm
        where as_of_date = ?
        group by 1""",
        [NO_VALUE, as_of],
        ("analytics.customer_rfm",),
        ("group_name", "customers", "revenue_amount"),
    )
    if frame.empty:
        return frame.assign(customer_share=[], revenue_share=[])
    revenue = frame["revenue_amount"].sum()
    frame = frame.assign(
        customer_share=frame["customers"] / frame["customers"].sum(),
        revenue_share=frame["revenue_amount"] / revenue if revenue else np.nan,
    )
    if column == "value_tier":
        order = {name: i for i, name in enumerate((*TIER_ORDER, NO_VALUE))}
        frame = frame.assign(_order=frame["group_name"].map(order).fillna(len(order)))
        frame = frame.sort_values(["_order", "group_name"]).drop(columns="_order")
    else:
        frame = frame.sort_values(["revenue_amount", "group_name"], ascending=[False, True])
    return frame.reset_index(drop=True)


def pareto_curve(
    con: duckdb.DuckDBPyConnection, as_of: date, points: int = PARETO_POINTS
) -> pd.DataFrame:
    """The Lorenz-style Pareto curve: customers ordered by revenue, largest first; for a share x
    of them, the share y of all customers' revenue they bring. At most `points` points, (0, 0)
    and (1, 1) always among them."""
    amounts = frame_or_empty(
        con,
        "select cast(total_net_amount as double) as amount from analytics.customer_rfm "
        "where as_of_date = ? and total_net_amount is not null order by amount desc",
        [as_of],
        ("analytics.customer_rfm",),
        ("amount",),
    )["amount"].to_numpy(dtype=float)
    total = amounts.sum()
    if len(amounts) == 0 or total <= 0:
        return pd.DataFrame({"customer_share": [], "revenue_share": []})
    cumulative = np.concatenate([[0.0], np.cumsum(amounts)])
    n = len(amounts)
    index = np.unique(np.round(np.linspace(0, n, min(points, n + 1))).astype(int))
    return pd.DataFrame({"customer_share": index / n, "revenue_share": cumulative[index] / total})


def revenue_concentration(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Any] | None:
    """D's row of analytics.revenue_concentration (the top customers' share of revenue)."""
    frame = frame_or_empty(
        con,
        """select customers, cast(top_customers as bigint) as top_customers,
            cast(top_customer_share as double) as top_customer_share,
            cast(revenue_amount as double) as revenue_amount,
            cast(top_revenue_amount as double) as top_revenue_amount, top_revenue_share
        from analytics.revenue_concentration where as_of_date = ?""",
        [as_of],
        ("analytics.revenue_concentration",),
        (),
    )
    if frame.empty or not frame.iloc[0]["customers"]:
        return None
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}


# --- cohorts and lifecycle -----------------------------------------------------------------------


def cohort_retention(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """D's cohort table: per cohort month and months since the first purchase, the cohort's
    size, its customers with a purchase in that month and their share."""
    return frame_or_empty(
        con,
        """select cohort_month, months_since_first_purchase, cohort_customers,
            retained_customers, retention_rate, is_complete_month
        from analytics.cohort_retention
        where as_of_date = ?
        order by cohort_month, months_since_first_purchase""",
        [as_of],
        ("analytics.cohort_retention",),
        (
            "cohort_month",
            "months_since_first_purchase",
            "cohort_customers",
            "retained_customers",
            "retention_rate",
            "is_complete_month",
        ),
    )


def lifecycle_stages(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Customers per lifecycle stage on D, in the stages' order."""
    frame = frame_or_empty(
        con,
        "select lifecycle_stage as stage, count(*) as customers from analytics.customer_lifecycle "
        "where as_of_date = ? group by 1",
        [as_of],
        ("analytics.customer_lifecycle",),
        ("stage", "customers"),
    )
    order = {s: i for i, s in enumerate(STAGE_ORDER)}
    frame = frame.assign(_order=frame["stage"].map(order).fillna(len(order)))
    return frame.sort_values(["_order", "stage"]).drop(columns="_order").reset_index(drop=True)


def segment_life(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Where each RFM segment is in its life on D, from analytics.segment_profiles (groups too
    small to show are not there): customers, average tenure so far, average expected remaining
    days, and the lifecycle stage most of it is in with that share (hidden shares left out).
    Largest segments first."""
    stage_columns = [f"stage_{stage}_share" for stage in STAGE_ORDER]
    columns = ("segment", "customers", "tenure_days", "remaining_days", *stage_columns)
    profiles = frame_or_empty(
        con,
        "select group_name as segment, customers, average_tenure_days as tenure_days, "
        "average_expected_remaining_days as remaining_days, "
        + ", ".join(stage_columns)
        + " from analytics.segment_profiles where as_of_date = ? and group_type = 'rfm_segment'",
        [as_of],
        ("analytics.segment_profiles",),
        columns,
    )
    shares = (
        profiles[stage_columns]
        .apply(pd.to_numeric)
        .rename(columns=dict(zip(stage_columns, STAGE_ORDER, strict=True)))
    )
    known = shares.notna().any(axis=1)
    profiles["main_stage"] = shares.fillna(-1.0).idxmax(axis=1).where(known)
    profiles["main_stage_share"] = shares.max(axis=1)
    order = profiles.sort_values(["customers", "segment"], ascending=[False, True])
    kept = ["segment", "customers", "tenure_days", "remaining_days", "main_stage"]
    return order[[*kept, "main_stage_share"]].reset_index(drop=True)


@dataclass(frozen=True)
class LifecycleFlow:
    """Customers moving between lifecycle stages from the as-of day before D to D.

    `flows`: from_stage, to_stage, customers; NO_VALUE where a customer had no stage on the
    earlier day (not yet a customer) or has none on D.
    """

    previous_as_of: date
    as_of: date
    flows: pd.DataFrame = field(repr=False)


def lifecycle_flow(con: duckdb.DuckDBPyConnection, as_of: date) -> LifecycleFlow | None:
    """From analytics.segment_transitions; None when D has no earlier snapshot to compare."""
    frame = frame_or_empty(
        con,
        """select previous_as_of_date, coalesce(from_value, ?) as from_stage,
            coalesce(to_value, ?) as to_stage, sum(customers) as customers
        from analytics.segment_transitions
        where as_of_date = ? and dimension = 'lifecycle_stage'
        group by all
        order by from_stage, to_stage""",
        [NO_VALUE, NO_VALUE, as_of],
        ("analytics.segment_transitions",),
        ("previous_as_of_date", "from_stage", "to_stage", "customers"),
    )
    if frame.empty:
        return None
    previous = pd.Timestamp(frame["previous_as_of_date"].iloc[0]).date()
    return LifecycleFlow(previous, as_of, frame.drop(columns="previous_as_of_date"))


# --- customer lifetime value ---------------------------------------------------------------------


def clv_by_tier(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Every customer's predicted CLV on D with their value tier (no key: a distribution)."""
    return frame_or_empty(
        con,
        """select coalesce(r.value_tier, ?) as value_tier, c.predicted_clv
        from analytics.customer_clv as c
        inner join analytics.customer_rfm as r
            on r.customer_key = c.customer_key and r.as_of_date = c.as_of_date
        where c.as_of_date = ? and c.predicted_clv is not null
        order by 1, 2""",
        [NO_VALUE, as_of],
        ("analytics.customer_clv", "analytics.customer_rfm"),
        ("value_tier", "predicted_clv"),
    )


def clv_tier_summary(values: pd.DataFrame) -> pd.DataFrame:
    """Per value tier: customers, mean, quartiles, 90th percentile and total predicted CLV."""
    columns = ["value_tier", "customers", "mean", "p25", "median", "p75", "p90", "total"]
    if values.empty:
        return pd.DataFrame(columns=columns)
    grouped = values.groupby("value_tier")["predicted_clv"]
    summary = pd.DataFrame(
        {
            "customers": grouped.size(),
            "mean": grouped.mean(),
            "p25": grouped.quantile(0.25),
            "median": grouped.median(),
            "p75": grouped.quantile(0.75),
            "p90": grouped.quantile(0.9),
            "total": grouped.sum(),
        }
    ).reset_index()
    order = {name: i for i, name in enumerate((*TIER_ORDER, NO_VALUE))}
    summary = summary.assign(_order=summary["value_tier"].map(order).fillna(len(order)))
    return summary.sort_values(["_order", "value_tier"]).drop(columns="_order")[columns]


def clv_model(con: duckdb.DuckDBPyConnection, as_of: date) -> dict[str, Any] | None:
    """D's final purchase-model fit from analytics.clv_model_runs (model, status, holdout
    metrics), with how its holdout forecast was made (`holdout_method`, `holdout_status`: the
    calibration fit of the same model), or None when the CLV was not computed for D."""
    frame = frame_or_empty(
        con,
        """select f.model, f.status, f.method, f.message, f.customers, f.time_unit,
            f.calibration_end_date, f.holdout_days, f.holdout_customers, f.holdout_mae,
            f.holdout_rmse, f.holdout_total_pct_error,
            c.method as holdout_method, c.status as holdout_status
        from analytics.clv_model_runs as f
        left join analytics.clv_model_runs as c
            on c.as_of_date = f.as_of_date and c.model = f.model and c.stage = 'calibration'
        where f.as_of_date = ? and f.stage = 'final' and f.model not in ('gamma_gamma', 'gamma_gamma_margin')""",
        [as_of],
        ("analytics.clv_model_runs",),
        (),
    )
    if frame.empty:
        return None
    return {k: (None if pd.isna(v) else v) for k, v in frame.iloc[0].to_dict().items()}


CLV_PLOTS = {
    "tracking": "clv_tracking_{model}.png",
    "calibration_vs_holdout": "clv_calibration_vs_holdout_{model}.png",
}


def clv_plots(reports_dir: Path, as_of: date, model: dict[str, Any] | None) -> dict[str, Path]:
    """The holdout plots the CLV asset drew for D's model (`<reports>/clv/<D>/`), by name.

    Only when D's run judged customers on a holdout: a folder can hold an older run's plot.
    """
    if not model or not model.get("holdout_customers"):
        return {}
    folder = Path(reports_dir) / "clv" / as_of.isoformat()
    found = {}
    for name, pattern in CLV_PLOTS.items():
        path = folder / pattern.format(model=model["model"])
        if path.is_file():
            found[name] = path
    return found


# --- data quality and exports --------------------------------------------------------------------


def ingest_summary(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per source, over every day loaded up to D: days, files, rows read, loaded, quarantined."""
    return frame_or_empty(
        con,
        """select source, count(distinct partition_date) as days,
            count(distinct source_file) as files,
            sum(rows_read) as rows_read, sum(rows_loaded) as rows_loaded,
            sum(rows_quarantined) as rows_quarantined
        from ops.ingest_log
        where partition_date is null or partition_date <= ?
        group by source
        order by source""",
        [as_of],
        ("ops.ingest_log",),
        ("source", "days", "files", "rows_read", "rows_loaded", "rows_quarantined"),
    )


def quarantine_by_reason(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Quarantined rows per source and reason over the days loaded up to D, most first."""
    columns = ["source", "reason_code", "description", "rows"]
    if not table_exists(con, "ops.quarantine_reasons"):
        return pd.DataFrame(columns=columns)
    counts = pd.DataFrame(
        [
            (c.source, c.reason_code, c.description, c.rows)
            for c in quarantine_counts(con, end=as_of)
        ],
        columns=columns,
    )
    if counts.empty:
        return counts
    counts = counts.groupby(["source", "reason_code", "description"], as_index=False)["rows"].sum()
    return counts.sort_values(["rows", "source", "reason_code"], ascending=[False, True, True])


def exports_made(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per tool and segment exported on D: files written, people in the upsert files (parts
    added up; the generic tool's Parquet copy of the same rows left out), in the opt-out file and
    in the leavers file."""
    return frame_or_empty(
        con,
        """select tool, segment, count(*) as files,
            sum(case when kind = 'upsert' and file_name not like '%.parquet' then rows else 0 end)
                as upsert_rows,
            sum(case when kind = 'optout' then rows else 0 end) as optout_rows,
            sum(case when kind = 'leavers' then rows else 0 end) as leaver_rows
        from ops.export_log
        where as_of_date = ?
        group by tool, segment
        order by segment, tool""",
        [as_of],
        ("ops.export_log",),
        ("tool", "segment", "files", "upsert_rows", "optout_rows", "leaver_rows"),
    )


def campaign_groups(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per segment exported on D: members sent (treated) and held out (control group)."""
    return frame_or_empty(
        con,
        """select campaign as segment,
            count(*) filter (where not is_control) as treated,
            count(*) filter (where is_control) as control
        from analytics.campaign_members
        where as_of_date = ?
        group by campaign
        order by campaign""",
        [as_of],
        ("analytics.campaign_members",),
        ("segment", "treated", "control"),
    )


# --- everything the page needs -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportData:
    as_of: date
    kpis: Kpis | None
    kpi_history: pd.DataFrame = field(repr=False)
    monthly: pd.DataFrame = field(repr=False)
    segments: pd.DataFrame = field(repr=False)
    tiers: pd.DataFrame = field(repr=False)
    pareto: pd.DataFrame = field(repr=False)
    concentration: dict[str, Any] | None = None
    cohorts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    stages: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    flow: LifecycleFlow | None = None
    segment_life: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    clv_values: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    clv_summary: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    clv_model: dict[str, Any] | None = None
    clv_plots: dict[str, Path] = field(default_factory=dict)
    ingest: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    quarantine: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    exports: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    campaigns: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    plans: PlansData | None = None


def load_report_data(con: duckdb.DuckDBPyConnection, as_of: date, reports_dir: Path) -> ReportData:
    """Everything the report of D shows, read in one go."""
    history = kpi_history(con, as_of)
    clv_values = clv_by_tier(con, as_of)
    model = clv_model(con, as_of)
    return ReportData(
        as_of=as_of,
        kpis=headline_kpis(history, as_of),
        kpi_history=history,
        monthly=monthly_activity(con, as_of),
        segments=group_sizes(con, as_of, "rfm_segment"),
        tiers=group_sizes(con, as_of, "value_tier"),
        pareto=pareto_curve(con, as_of),
        concentration=revenue_concentration(con, as_of),
        cohorts=cohort_retention(con, as_of),
        stages=lifecycle_stages(con, as_of),
        flow=lifecycle_flow(con, as_of),
        segment_life=segment_life(con, as_of),
        clv_values=clv_values,
        clv_summary=clv_tier_summary(clv_values),
        clv_model=model,
        clv_plots=clv_plots(reports_dir, as_of, model),
        ingest=ingest_summary(con, as_of),
        quarantine=quarantine_by_reason(con, as_of),
        exports=exports_made(con, as_of),
        campaigns=campaign_groups(con, as_of),
        plans=load_plans_data(con, as_of),
    )
