"""The report's numbers against pandas computed independently on the small warehouse's inputs:
the purchases, the customers' rows of the day, and the ops and quarantine rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import AS_OF, LATER, PREVIOUS, SmallWarehouse

from dagster_project.lib.report import data


def test_group_sizes_are_customers_and_revenue_shares_per_segment_and_tier(
    warehouse: SmallWarehouse,
):
    rfm = warehouse.rfm
    total = rfm["total_net_amount"].sum()
    with warehouse.connect() as con:
        for column in ("rfm_segment", "value_tier"):
            got = data.group_sizes(con, AS_OF, column).set_index("group_name")
            expected = rfm.groupby(column).agg(
                customers=("customer_key", "size"), revenue=("total_net_amount", "sum")
            )
            assert set(got.index) == set(expected.index)
            for name, row in expected.iterrows():
                assert got.loc[name, "customers"] == row["customers"]
                assert got.loc[name, "revenue_amount"] == pytest.approx(row["revenue"])
                assert got.loc[name, "customer_share"] == pytest.approx(row["customers"] / len(rfm))
                assert got.loc[name, "revenue_share"] == pytest.approx(row["revenue"] / total)
        tiers = data.group_sizes(con, AS_OF, "value_tier")["group_name"].tolist()
    assert tiers == [t for t in data.TIER_ORDER if t in set(rfm["value_tier"])]


def test_the_pareto_curve_is_the_cumulative_revenue_of_the_largest_spenders(
    warehouse: SmallWarehouse,
):
    amounts = np.sort(warehouse.rfm["total_net_amount"].to_numpy())[::-1]
    n, total = len(amounts), amounts.sum()
    with warehouse.connect() as con:
        curve = data.pareto_curve(con, AS_OF)
        coarse = data.pareto_curve(con, AS_OF, points=5)
        concentration = data.revenue_concentration(con, AS_OF)
    assert len(curve) == n + 1  # fewer customers than points: every customer a point
    for x, y in zip(curve["customer_share"], curve["revenue_share"], strict=True):
        k = round(x * n)
        assert y == pytest.approx(amounts[:k].sum() / total)
    assert curve.iloc[0].tolist() == [0.0, 0.0]
    assert curve.iloc[-1].tolist() == pytest.approx([1.0, 1.0])
    assert coarse["customer_share"].tolist() == pytest.approx([0, 0.25, 0.5, 0.75, 1.0])
    # The marked point (the table's top spenders) lies on the curve.
    top = int(np.ceil(0.2 * n))
    assert concentration["top_customers"] == top
    assert concentration["top_revenue_share"] == pytest.approx(amounts[:top].sum() / total)


def test_monthly_activity_counts_each_buyer_of_a_month_once(warehouse: SmallWarehouse):
    seen = warehouse.purchases[warehouse.purchases["order_date"] <= AS_OF].assign(
        month=lambda f: pd.to_datetime(f["order_date"]).dt.to_period("M").dt.start_time.dt.date
    )
    first = seen.groupby("customer_key")["month"].min()
    with warehouse.connect() as con:
        monthly = data.monthly_activity(con, AS_OF)
    months = [m.date() if hasattr(m, "date") else m for m in monthly["month"]]
    assert months == sorted(seen["month"].unique())
    for row, month in zip(monthly.itertuples(), months, strict=True):
        in_month = seen[seen["month"] == month]
        assert row.active_customers == in_month["customer_key"].nunique()
        assert row.new_customers == (first == month).sum()
        assert row.orders == len(in_month)
        assert row.net_amount == pytest.approx(in_month["amount"].sum())
    assert monthly["is_complete_month"].tolist() == [True, True, False]


def test_cohort_retention_is_the_days_table(warehouse: SmallWarehouse):
    seen = warehouse.purchases[warehouse.purchases["order_date"] <= AS_OF].assign(
        month=lambda f: pd.to_datetime(f["order_date"]).dt.to_period("M")
    )
    first = seen.groupby("customer_key")["month"].min()
    with warehouse.connect() as con:
        cohorts = data.cohort_retention(con, AS_OF)
    assert (pd.to_datetime(cohorts["cohort_month"]) <= pd.Timestamp(AS_OF)).all()
    january = cohorts[pd.to_datetime(cohorts["cohort_month"]) == pd.Timestamp("2025-01-01")]
    members = first[first == pd.Period("2025-01", "M")].index
    for row in january.itertuples():
        month = pd.Period("2025-01", "M") + row.months_since_first_purchase
        buyers = seen[(seen["month"] == month) & seen["customer_key"].isin(members)]
        assert row.cohort_customers == len(members)
        assert row.retention_rate == pytest.approx(buyers["customer_key"].nunique() / len(members))


def test_headline_kpis_compare_with_the_previous_day_computed_never_a_later_one(
    warehouse: SmallWarehouse,
):
    with warehouse.connect() as con:
        history = data.kpi_history(con, AS_OF)
    kpis = data.headline_kpis(history, AS_OF)
    assert [d.isoformat() for d in pd.to_datetime(history["as_of_date"]).dt.date] == [
        PREVIOUS.isoformat(),
        AS_OF.isoformat(),
    ]
    assert kpis.values["customers"] == 50
    assert kpis.previous_as_of == PREVIOUS
    assert kpis.previous["customers"] == 40
    assert data.headline_kpis(history.iloc[:0], AS_OF) is None
    assert data.headline_kpis(history[history["as_of_date"] != pd.Timestamp(AS_OF)], AS_OF) is None


def test_the_lifecycle_flow_is_the_stage_moves_from_the_previous_snapshot(
    warehouse: SmallWarehouse,
):
    stages = warehouse.stages.fillna({"previous_stage": data.NO_VALUE})
    expected = stages.groupby(["previous_stage", "stage"]).size()
    with warehouse.connect() as con:
        flow = data.lifecycle_flow(con, AS_OF)
        assert data.lifecycle_flow(con, PREVIOUS) is None  # no snapshot before it
        counts = data.lifecycle_stages(con, AS_OF)
    assert flow.previous_as_of == PREVIOUS
    got = flow.flows.set_index(["from_stage", "to_stage"])["customers"]
    assert got.to_dict() == expected.to_dict()
    by_stage = warehouse.stages["stage"].value_counts()
    assert counts.set_index("stage")["customers"].to_dict() == by_stage.to_dict()
    assert counts["stage"].tolist() == [s for s in data.STAGE_ORDER if s in by_stage]


def test_segment_life_is_each_segments_tenure_remaining_days_and_main_stage_on_the_day(
    warehouse: SmallWarehouse,
):
    with warehouse.connect() as con:
        life = data.segment_life(con, AS_OF)
    assert life["segment"].tolist() == ["Champions", "At Risk", "Hibernating"]  # largest first
    champions = life.iloc[0]
    assert champions.tenure_days == 610.0 and champions.remaining_days == 1450.2
    assert (champions.main_stage, champions.main_stage_share) == ("active", 0.9)
    assert life.iloc[1].main_stage == "at_risk"
    hidden = life.iloc[2]  # every share hidden: no main stage, no remaining days
    assert pd.isna(hidden.main_stage) and pd.isna(hidden.remaining_days)


def test_clv_by_tier_is_every_customers_prediction_with_their_tier(warehouse: SmallWarehouse):
    joined = warehouse.clv.merge(warehouse.rfm[["customer_key", "value_tier"]], on="customer_key")
    with warehouse.connect() as con:
        values = data.clv_by_tier(con, AS_OF)
    assert "customer_key" not in values.columns
    summary = data.clv_tier_summary(values).set_index("value_tier")
    for tier, group in joined.groupby("value_tier"):
        clv = group["predicted_clv"]
        assert summary.loc[tier, "customers"] == len(clv)
        assert summary.loc[tier, "mean"] == pytest.approx(clv.mean())
        assert summary.loc[tier, "median"] == pytest.approx(np.median(clv))
        assert summary.loc[tier, "p90"] == pytest.approx(np.quantile(clv, 0.9))
        assert summary.loc[tier, "total"] == pytest.approx(clv.sum())


def test_the_clv_model_and_its_plots_are_the_days_final_fit(warehouse: SmallWarehouse):
    with warehouse.connect() as con:
        model = data.clv_model(con, AS_OF)
        assert data.clv_model(con, LATER) is None
    assert (model["model"], model["holdout_customers"]) == ("bgnbd", 30)
    assert (model["holdout_method"], model["holdout_status"]) == ("model", "ok")
    plots = data.clv_plots(warehouse.reports_dir, AS_OF, model)
    assert list(plots) == ["tracking"]
    # A run that judged nobody on a holdout shows no plot, even if an older one is there.
    assert data.clv_plots(warehouse.reports_dir, AS_OF, {**model, "holdout_customers": 0}) == {}


def test_quality_counts_quarantined_rows_by_reason_up_to_the_day(warehouse: SmallWarehouse):
    q = warehouse.quarantine
    expected = q[q["partition_date"] <= AS_OF]["reason_code"].value_counts().to_dict()
    with warehouse.connect() as con:
        reasons = data.quarantine_by_reason(con, AS_OF)
        ingest = data.ingest_summary(con, AS_OF).set_index("source")
    tickets = reasons[reasons["source"] == "pos_tickets"].set_index("reason_code")["rows"]
    assert tickets.to_dict() == expected
    assert reasons["rows"].tolist() == sorted(reasons["rows"], reverse=True)
    assert reasons["description"].str.len().gt(0).all()
    assert ingest.loc["pos_tickets", ["files", "rows_read", "rows_quarantined"]].tolist() == [
        3,
        160,
        6,
    ]
    assert ingest["rows_quarantined"].sum() == len(q[q["partition_date"] <= AS_OF]) + 1


def test_exports_made_add_up_parts_and_leave_out_parquet_copies(warehouse: SmallWarehouse):
    log = warehouse.export_log[warehouse.export_log["as_of_date"] == AS_OF]
    with warehouse.connect() as con:
        exports = data.exports_made(con, AS_OF).set_index(["tool", "segment"])
        groups = data.campaign_groups(con, AS_OF).set_index("segment")
    for (tool, segment), files in log.groupby(["tool", "segment"]):
        row = exports.loc[(tool, segment)]
        assert row["files"] == len(files)
        csv = files["kind"].eq("upsert") & files["file_name"].str.endswith(".csv")
        assert row["upsert_rows"] == files.loc[csv, "rows"].sum()
        assert row["optout_rows"] == files.loc[files["kind"] == "optout", "rows"].sum()
        assert row["leaver_rows"] == files.loc[files["kind"] == "leavers", "rows"].sum()
    assert exports.loc[("generic", "champions"), "upsert_rows"] == 42  # not its Parquet copy
    assert groups.loc["champions"].tolist() == [41, 5]
    assert groups.loc["win_back"].tolist() == [7, 1]


def test_a_warehouse_before_its_first_run_reads_as_empty(tmp_path):
    import duckdb

    from dagster_project.lib.warehouse import ensure_warehouse_tables

    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        ensure_warehouse_tables(con)
        loaded = data.load_report_data(con, AS_OF, tmp_path)
    assert loaded.kpis is None and loaded.flow is None and loaded.concentration is None
    for frame in (loaded.monthly, loaded.segments, loaded.pareto, loaded.cohorts, loaded.ingest):
        assert frame.empty
