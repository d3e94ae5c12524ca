"""A small warehouse for the report tests: the analytics, ops and quarantine tables the report
reads, filled from a known set of purchases, with rows of other as-of days around the one
reported so a reader that ignores `as_of_date` shows up."""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dagster_project.lib.warehouse import ensure_warehouse_tables

AS_OF = date(2025, 3, 20)  # March is still in progress
PREVIOUS = date(2025, 2, 28)
LATER = date(2025, 4, 30)  # computed after the report's day: never shown
SEGMENTS = ("Champions", "Loyal", "At Risk", "Lost", "New")
STAGES = ("new", "active", "at_risk", "lapsed", "lost")


@dataclass(frozen=True)
class SmallWarehouse:
    path: Path
    reports_dir: Path
    purchases: pd.DataFrame  # customer_key, order_date, amount (every purchase by LATER)
    rfm: pd.DataFrame  # customer_key, rfm_segment, value_tier, total_net_amount (as of AS_OF)
    stages: pd.DataFrame  # customer_key, previous_stage, stage (None = no stage that day)
    clv: pd.DataFrame  # customer_key, predicted_clv (as of AS_OF)
    quarantine: pd.DataFrame  # partition_date, reason_code (quarantine.pos_tickets)
    export_log: pd.DataFrame

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.path), read_only=True)


def _purchases(rng: np.random.Generator, customers: int) -> pd.DataFrame:
    rows = []
    for i in range(customers):
        first = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 110)))
        days = sorted({first, *(first + pd.Timedelta(days=int(d)) for d in rng.integers(1, 90, 3))})
        for day in days[: 1 + int(rng.integers(0, 4))]:
            rows.append((f"ck_{i:03d}", day.date(), round(float(rng.gamma(2.0, 15.0)) + 1, 2)))
    return pd.DataFrame(rows, columns=["customer_key", "order_date", "amount"])


def _cohort_rows(purchases: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """analytics.cohort_retention as the dbt model defines it, for the purchases by `as_of`."""
    seen = purchases[purchases["order_date"] <= as_of].assign(
        month=lambda f: pd.to_datetime(f["order_date"]).dt.to_period("M")
    )
    cohort = seen.groupby("customer_key")["month"].min().rename("cohort_month")
    seen = seen.join(cohort, on="customer_key")
    last = pd.Period(as_of, "M")
    rows = []
    for cohort_month, members in seen.groupby("cohort_month"):
        size = members["customer_key"].nunique()
        for k in range(0, (last - cohort_month).n + 1):
            month = cohort_month + k
            active = members[members["month"] == month]
            rows.append(
                {
                    "as_of_date": as_of,
                    "cohort_month": cohort_month.start_time.date(),
                    "months_since_first_purchase": k,
                    "activity_month": month.start_time.date(),
                    "cohort_customers": size,
                    "retained_customers": active["customer_key"].nunique(),
                    "retention_rate": active["customer_key"].nunique() / size,
                    "orders_count": len(active),
                    "purchase_amount": round(active["amount"].sum(), 2),
                    "net_amount": round(active["amount"].sum(), 2),
                    "is_complete_month": month.end_time.date() <= as_of,
                }
            )
    return pd.DataFrame(rows)


def _rfm(purchases: pd.DataFrame, as_of: date, rng: np.random.Generator) -> pd.DataFrame:
    totals = (
        purchases[purchases["order_date"] <= as_of]
        .groupby("customer_key", as_index=False)["amount"]
        .sum()
        .rename(columns={"amount": "total_net_amount"})
        .sort_values(["total_net_amount", "customer_key"], ascending=[False, True])
    )
    n = len(totals)
    share_before = (totals["total_net_amount"].cumsum() - totals["total_net_amount"]) / totals[
        "total_net_amount"
    ].sum()
    tiers = np.select(
        [share_before < 0.5, share_before < 0.8, share_before < 0.95],
        ["gold", "silver", "bronze"],
        "wood",
    )
    return totals.assign(
        as_of_date=as_of,
        rfm_segment=rng.choice(SEGMENTS, n),
        value_tier=tiers,
        is_top_spender=np.arange(n) < math.ceil(0.2 * n),
    ).reset_index(drop=True)


def build_small_warehouse(folder: Path, seed: int = 7) -> SmallWarehouse:
    rng = np.random.default_rng(seed)
    purchases = _purchases(rng, 60)
    rfm = _rfm(purchases, AS_OF, rng)
    earlier_rfm = _rfm(purchases, PREVIOUS, rng)
    later_rfm = _rfm(purchases, LATER, rng)
    keys = sorted(set(purchases["customer_key"]))
    stages = pd.DataFrame(
        {
            "customer_key": keys,
            "previous_stage": [None if i % 9 == 0 else STAGES[i % 4] for i in range(len(keys))],
            "stage": [STAGES[(i * 7) % 5] for i in range(len(keys))],
        }
    )
    clv = pd.DataFrame(
        {"customer_key": rfm["customer_key"], "predicted_clv": rng.gamma(2.0, 40.0, len(rfm))}
    )
    path = folder / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    ensure_warehouse_tables(con)

    def table(name: str, frame: pd.DataFrame) -> None:
        con.register("incoming", frame)
        con.execute(f"create or replace table {name} as select * from incoming")
        con.unregister("incoming")

    all_rfm = pd.concat([earlier_rfm, rfm, later_rfm], ignore_index=True)
    table("analytics.customer_rfm", all_rfm)
    con.execute(
        "alter table analytics.customer_rfm alter total_net_amount type decimal(38, 2)"
    )  # as dbt writes it
    table(
        "analytics.cohort_retention",
        pd.concat(
            [_cohort_rows(purchases, d) for d in (PREVIOUS, AS_OF, LATER)], ignore_index=True
        ),
    )
    concentration = (
        all_rfm.groupby("as_of_date")
        .apply(
            lambda f: pd.Series(
                {
                    "customers": len(f),
                    "top_customers": int(f["is_top_spender"].sum()),
                    "top_customer_share": 0.2,
                    "revenue_amount": f["total_net_amount"].sum(),
                    "top_revenue_amount": f.loc[f["is_top_spender"], "total_net_amount"].sum(),
                }
            ),
            include_groups=False,
        )
        .reset_index()
    )
    concentration["top_revenue_share"] = (
        concentration["top_revenue_amount"] / concentration["revenue_amount"]
    )
    table("analytics.revenue_concentration", concentration)
    lifecycle = pd.concat(
        [
            stages.dropna(subset=["previous_stage"])
            .assign(as_of_date=PREVIOUS)[["as_of_date", "customer_key", "previous_stage"]]
            .rename(columns={"previous_stage": "lifecycle_stage"}),
            stages.assign(as_of_date=AS_OF)[["as_of_date", "customer_key", "stage"]].rename(
                columns={"stage": "lifecycle_stage"}
            ),
        ]
    )
    table("analytics.customer_lifecycle", lifecycle)
    moves = (
        stages.fillna({"previous_stage": "__none__"})
        .groupby(["previous_stage", "stage"], as_index=False)
        .size()
        .rename(columns={"previous_stage": "from_value", "stage": "to_value", "size": "customers"})
        .replace({"from_value": {"__none__": None}})
    )
    transitions = pd.concat(
        [
            moves.assign(
                as_of_date=AS_OF, previous_as_of_date=PREVIOUS, dimension="lifecycle_stage"
            ),
            # Other dimensions and other pairs of days: not the flow of AS_OF's stages.
            moves.assign(as_of_date=AS_OF, previous_as_of_date=PREVIOUS, dimension="value_tier"),
            moves.assign(as_of_date=LATER, previous_as_of_date=AS_OF, dimension="lifecycle_stage"),
        ],
        ignore_index=True,
    )
    transitions["is_unchanged"] = transitions["from_value"] == transitions["to_value"]
    table("analytics.segment_transitions", transitions)
    kpis = pd.DataFrame(
        [
            {
                "as_of_date": day,
                "customers": n,
                "active_customers_30d": n // 3,
                "active_customers_90d": n // 2,
                "new_customers_30d": n // 5,
                "repeat_purchase_rate": 0.3 + i / 10,
                "churn_rate_30d": 0.1 - i / 100,
                "average_order_value_30d_amount": 20.0 + i,
                "net_revenue_30d_amount": 1000.0 * (i + 1),
                "top_revenue_share": 0.5,
                "average_predicted_clv_amount": 80.0 + i,
            }
            for i, (day, n) in enumerate(((PREVIOUS, 40), (AS_OF, 50), (LATER, 70)))
        ]
    )
    table("analytics.kpi_daily", kpis)
    con.register("clv_frame", clv)
    for day, factor in ((AS_OF, 1.0), (LATER, 3.0)):
        con.execute(
            "insert into analytics.customer_clv (as_of_date, customer_key, predicted_clv) "
            "select ?, customer_key, predicted_clv * ? from clv_frame",
            [day, factor],
        )
    con.unregister("clv_frame")
    con.execute(
        """insert into analytics.clv_model_runs
            (as_of_date, model, stage, selected, status, method, message, customers,
             time_unit, calibration_end_date, holdout_days, holdout_customers, holdout_mae)
        values (?, 'bgnbd', 'calibration', false, 'ok', 'model', '', 30, 'W', ?, 30, 30, 0.4),
               (?, 'bgnbd', 'final', true, 'ok', 'model', 'converged', 60, 'W', ?, 30, 30, 0.4),
               (?, 'gamma_gamma', 'final', true, 'ok', 'model', '', 20, 'W', null, null, null,
                null)""",
        [AS_OF, date(2025, 2, 18), AS_OF, date(2025, 2, 18), AS_OF],
    )
    quarantine = pd.DataFrame(
        {
            "partition_date": [date(2025, 1, 3)] * 3
            + [date(2025, 2, 10)] * 2
            + [AS_OF]
            + [LATER] * 4,
            "reason_code": ["bad_type", "bad_type", "duplicate_row", "bad_type"]
            + ["missing_required", "duplicate_row"]
            + ["bad_type"] * 4,
        }
    )
    con.register("quarantined", quarantine)
    con.execute(
        "insert into quarantine.pos_tickets (partition_date, reason_code, source_file) "
        "select partition_date, reason_code, 'pos/tickets/file.csv' from quarantined"
    )
    con.execute(
        "insert into quarantine.shopify_orders (partition_date, reason_code, source_file) "
        "values ('2025-01-05', 'bad_type', 'ecommerce/orders/o.jsonl')"
    )
    con.unregister("quarantined")
    con.execute(
        """insert into ops.ingest_log
            (source, partition_date, source_file, rows_read, rows_loaded, rows_quarantined)
        values ('pos_tickets', '2025-01-03', 'a.csv', 100, 97, 3),
               ('pos_tickets', '2025-02-10', 'b.csv', 50, 48, 2),
               ('pos_tickets', ?, 'c.csv', 10, 9, 1),
               ('pos_tickets', ?, 'd.csv', 40, 36, 4),
               ('shopify_orders', '2025-01-05', 'o.jsonl', 20, 19, 1)""",
        [AS_OF, LATER],
    )
    export_log = pd.DataFrame(
        [
            (AS_OF, "klaviyo", "champions", "k_part01.csv", "upsert", 30),
            (AS_OF, "klaviyo", "champions", "k_part02.csv", "upsert", 12),
            (AS_OF, "klaviyo", "champions", "k_optout.csv", "optout", 2),
            (AS_OF, "klaviyo", "champions", "k_leavers.csv", "leavers", 1),
            (AS_OF, "generic", "champions", "g.csv", "upsert", 42),
            (AS_OF, "generic", "champions", "g.parquet", "upsert", 42),
            (AS_OF, "generic", "champions", "g_optout.csv", "optout", 2),
            (AS_OF, "generic", "champions", "g_leavers.csv", "leavers", 1),
            (AS_OF, "generic", "win_back", "w.csv", "upsert", 7),
            (AS_OF, "generic", "win_back", "w_optout.csv", "optout", 0),
            (AS_OF, "generic", "win_back", "w_leavers.csv", "leavers", 0),
            (LATER, "generic", "win_back", "w.csv", "upsert", 99),
        ],
        columns=["as_of_date", "tool", "segment", "file_name", "kind", "rows"],
    )
    con.register("exported", export_log)
    con.execute(
        "insert into ops.export_log (as_of_date, tool, segment, file_name, kind, rows) "
        "select * from exported"
    )
    con.unregister("exported")
    con.execute(
        """insert into analytics.campaign_members
            (as_of_date, campaign, customer_key, value_tier, is_control)
        select ?, campaign, 'ck_' || lpad(cast(i as varchar), 3, '0'), 'gold', i % 10 = 0
        from (select 'champions' as campaign, range as i from range(46)
              union all select 'win_back', range from range(8))""",
        [AS_OF],
    )
    _plans_tables(con, rfm)
    table("analytics.segment_profiles", _segment_profiles())
    con.close()
    reports_dir = folder / "reports"
    plots = reports_dir / "clv" / AS_OF.isoformat()
    plots.mkdir(parents=True)
    (plots / "clv_tracking_bgnbd.png").write_bytes(_tiny_png())
    return SmallWarehouse(
        path=path,
        reports_dir=reports_dir,
        purchases=purchases,
        rfm=rfm,
        stages=stages,
        clv=clv,
        quarantine=quarantine,
        export_log=export_log,
    )


PLAN_DAYS = (PREVIOUS, AS_OF, LATER)


def _segment_profiles() -> pd.DataFrame:
    """Profiles of three RFM segments (one with every stage share hidden) and a tier, on AS_OF,
    and one segment on LATER (never shown)."""
    stages = ("prospect", "new", "active", "reactivated", "at_risk", "lapsed", "lost")

    def row(day, group_type, name, customers, tenure, remaining, shares):
        return {
            "as_of_date": day,
            "group_type": group_type,
            "group_name": name,
            "customers": customers,
            "min_group_size": 10,
            "average_tenure_days": tenure,
            "average_expected_remaining_days": remaining,
            **{f"stage_{s}_share": shares.get(s) for s in stages},
        }

    return pd.DataFrame(
        [
            row(AS_OF, "rfm_segment", "Champions", 40, 610.0, 1450.2, {"active": 0.9, "new": 0.1}),
            row(AS_OF, "rfm_segment", "At Risk", 25, 300.5, 420.0, {"at_risk": 0.6, "lapsed": 0.4}),
            row(AS_OF, "rfm_segment", "Hibernating", 12, 90.0, None, {}),
            row(AS_OF, "value_tier", "gold", 30, 700.0, 1500.0, {"active": 1.0}),
            row(LATER, "rfm_segment", "Promising", 99, 10.0, 5.0, {"new": 1.0}),
        ]
    ).astype({f"stage_{s}_share": "float64" for s in stages})


def _plans_tables(con: duckdb.DuckDBPyConnection, rfm: pd.DataFrame) -> None:
    """Two plans followed on each day, one wave's responses, and recommendations: one subcategory
    recommended first to most customers of each segment, another to a group too small to show."""
    progress = pd.DataFrame(
        [
            {
                "as_of_date": day,
                "plan": plan,
                "segment": segment,
                "owner": "CRM lead",
                "channel": "email",
                "metric": metric,
                "baseline_date": PREVIOUS,
                "due_date": LATER,
                "baseline_value": 100.0,
                "target_value": 160.0,
                "expected_value": 100.0 + 60.0 * i / 2,
                "actual_value": actual,
                "gap": actual - (100.0 + 60.0 * i / 2),
                "is_on_track": actual >= 100.0 + 60.0 * i / 2,
                "contacted": 40 if segment else None,
                "spend": 12.5 * (i + 1),
                "budget_total": 100.0,
                "currency": "EUR",
                "incremental_buyers": 3.0 if segment else None,
                "incremental_revenue": 345.0 if segment else None,
                "incremental_revenue_low": 120.0 if segment else None,
                "incremental_revenue_high": 570.0 if segment else None,
                "cost_per_incremental_customer": 8.33 if segment else None,
                "roi": 13.8 if segment else None,
                "roi_measure": "revenue",
            }
            for i, day in enumerate(PLAN_DAYS)
            for plan, segment, metric, actual in (
                ("grow_champions", "champions", "customers", (100.0, 137.0, 999.0)[i]),
                ("win_back_gold", None, "reactivated", (100.0, 104.0, 999.0)[i]),
            )
        ]
    )
    con.register("progress", progress)
    con.execute("insert into analytics.plan_progress by name select * from progress")
    con.execute(
        """insert into analytics.customer_campaign_responses
            (as_of_date, campaign, export_date, window_end_date, is_complete, customer_key,
             is_control, has_responded, days_to_respond, orders, revenue, used_coupon)
        select ?, 'champions', ?, ?, true, 'ck_' || lpad(cast(i as varchar), 3, '0'),
            i % 10 = 0, i % 3 = 0, case when i % 3 = 0 then i % 7 end, 1, 20.0, i % 6 = 0
        from range(40) as t(i)""",
        [AS_OF, PREVIOUS, AS_OF],
    )
    history = rfm.assign(lifecycle_stage="active")[
        ["as_of_date", "customer_key", "rfm_segment", "value_tier", "lifecycle_stage"]
    ]
    con.register("history", history)
    con.execute("create table analytics.customer_segment_history as select * from history")
    con.execute(
        """create table analytics.customer_recommendations as
        select as_of_date, customer_key, 1 as recommendation_rank,
            case when row_number() over (order by customer_key) <= 3 then 'Óptica'
                 else 'Higiene' end as category,
            case when row_number() over (order by customer_key) <= 3 then 'Gafas de sol'
                 else 'Higiene bucal' end as subcategory,
            1.0 as score, 'P1' as sku, 'Pasta' as product_name
        from history"""
    )
    con.execute(
        """create table analytics.recommendation_runs as
        select ? as as_of_date, date '2024-12-20' as holdout_start_date, 3 as top_k,
            120 as customers_measured, 0.62 as hit_rate, 0.29 as precision_at_k,
            0.58 as baseline_hit_rate, 0.27 as baseline_precision_at_k, true as beats_baseline""",
        [AS_OF],
    )


def _tiny_png() -> bytes:
    figure = Figure(figsize=(2, 1))
    figure.add_subplot().plot([0, 1], [0, 1])
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=50)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> SmallWarehouse:
    return build_small_warehouse(tmp_path_factory.mktemp("report_warehouse"))
