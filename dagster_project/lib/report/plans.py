"""What the report's "Plans" section shows: each plan's objective against its actual over the as-of days, the
return on the spend against the control group, how the people of each campaign wave responded,
and what the recommendations advise per segment, read from the warehouse as of one day.

Aggregates only, like the rest of the report: a recommendation is shown for a segment only when
at least the segment profiles' minimum group size of its customers got it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import duckdb
import pandas as pd

from dagster_project.lib.report.reading import frame_or_empty, table_exists

# Without segment profiles of the day, the smallest group a recommendation is shown for.
DEFAULT_MIN_GROUP_SIZE = 10
TOP_RECOMMENDATIONS = 3


@dataclass(frozen=True)
class PlansData:
    """What the Plans section shows as of D."""

    progress: pd.DataFrame = field(repr=False)  # analytics.plan_progress up to D
    responses: pd.DataFrame = field(repr=False)  # per campaign wave, treated and control
    recommendations: pd.DataFrame = field(repr=False)  # top subcategories per RFM segment
    recommendation_run: dict | None = None  # analytics.recommendation_runs of D
    min_group_size: int = DEFAULT_MIN_GROUP_SIZE

    @property
    def today(self) -> pd.DataFrame:
        """Each plan's row of the latest as-of day up to D."""
        if self.progress.empty:
            return self.progress
        latest = self.progress["as_of_date"] == self.progress["as_of_date"].max()
        return self.progress[latest]


def plan_progress(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """analytics.plan_progress of every as-of day up to D, by plan and day."""
    columns = (
        "as_of_date",
        "plan",
        "segment",
        "owner",
        "metric",
        "baseline_date",
        "due_date",
        "baseline_value",
        "target_value",
        "expected_value",
        "actual_value",
        "is_on_track",
        "contacted",
        "spend",
        "budget_total",
        "currency",
        "incremental_buyers",
        "incremental_revenue",
        "incremental_revenue_low",
        "incremental_revenue_high",
        "cost_per_incremental_customer",
        "roi",
        "roi_measure",
    )
    return frame_or_empty(
        con,
        f"select {', '.join(columns)} from analytics.plan_progress "
        "where as_of_date <= ? order by plan, as_of_date",
        [as_of],
        ("analytics.plan_progress",),
        columns,
    )


def campaign_responses(con: duckdb.DuckDBPyConnection, as_of: date) -> pd.DataFrame:
    """Per campaign wave measured by D, treated and control: people, who bought in the window,
    the share, the median days to the first purchase, revenue per head and coupon users."""
    columns = (
        "campaign",
        "export_date",
        "is_complete",
        "group_name",
        "people",
        "responders",
        "response_rate",
        "median_days_to_respond",
        "revenue_per_head",
        "coupon_users",
    )
    return frame_or_empty(
        con,
        """select campaign, export_date, bool_and(is_complete) as is_complete,
            case when is_control then 'control' else 'treated' end as group_name,
            count(*) as people,
            count(*) filter (where has_responded) as responders,
            avg(case when has_responded then 1.0 else 0.0 end) as response_rate,
            median(days_to_respond) as median_days_to_respond,
            avg(coalesce(revenue, 0)) as revenue_per_head,
            count(*) filter (where used_coupon) as coupon_users
        from analytics.customer_campaign_responses
        where as_of_date <= ?
        group by campaign, export_date, is_control
        order by export_date desc, campaign, group_name desc""",
        [as_of],
        ("analytics.customer_campaign_responses",),
        columns,
    )


def min_group_size(con: duckdb.DuckDBPyConnection, as_of: date) -> int:
    """The segment profiles' minimum group size of D (their setting), or the default."""
    if not table_exists(con, "analytics.segment_profiles"):
        return DEFAULT_MIN_GROUP_SIZE
    (size,) = con.execute(
        "select max(min_group_size) from analytics.segment_profiles where as_of_date = ?",
        [as_of],
    ).fetchall()[0]
    return int(size) if size is not None else DEFAULT_MIN_GROUP_SIZE


def recommendations_by_segment(
    con: duckdb.DuckDBPyConnection, as_of: date, smallest: int
) -> pd.DataFrame:
    """Per RFM segment on D, the subcategories most often recommended first, with how many of
    the segment's customers got each and their share; groups under `smallest` left out."""
    columns = ("rfm_segment", "category", "subcategory", "customers", "segment_share")
    return frame_or_empty(
        con,
        f"""with firsts as (
            select history.rfm_segment, next_best.category, next_best.subcategory,
                count(*) as customers
            from analytics.customer_segment_history as history
            inner join analytics.customer_recommendations as next_best
                on next_best.customer_key = history.customer_key
                and next_best.as_of_date = history.as_of_date
                and next_best.recommendation_rank = 1
            where history.as_of_date = ? and history.rfm_segment is not null
            group by all
        ),
        ranked as (
            select *, customers / sum(customers) over (partition by rfm_segment)
                    as segment_share,
                row_number() over (
                    partition by rfm_segment order by customers desc, category, subcategory
                ) as place
            from firsts
        )
        select rfm_segment, category, subcategory, customers, segment_share
        from ranked
        where place <= {TOP_RECOMMENDATIONS} and customers >= ?
        order by rfm_segment, customers desc""",
        [as_of, smallest],
        ("analytics.customer_segment_history", "analytics.customer_recommendations"),
        columns,
    )


def recommendation_run(con: duckdb.DuckDBPyConnection, as_of: date) -> dict | None:
    """D's holdout measure of the recommendations, or None."""
    frame = frame_or_empty(
        con,
        "select * from analytics.recommendation_runs where as_of_date = ?",
        [as_of],
        ("analytics.recommendation_runs",),
        ("as_of_date",),
    )
    return None if frame.empty else frame.iloc[0].to_dict()


def load_plans_data(con: duckdb.DuckDBPyConnection, as_of: date) -> PlansData:
    smallest = min_group_size(con, as_of)
    return PlansData(
        progress=plan_progress(con, as_of),
        responses=campaign_responses(con, as_of),
        recommendations=recommendations_by_segment(con, as_of, smallest),
        recommendation_run=recommendation_run(con, as_of),
        min_group_size=smallest,
    )
