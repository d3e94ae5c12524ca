"""The CLV asset: fit the purchase and spend models as of the partition's day and score everyone.

The fitting lives in `lib/clv` (`clv/on_duckdb.py` reads the day's purchase summary and purchases
and replaces the day's rows of analytics.customer_clv and analytics.clv_model_runs); this asset
runs it for the partition's day on the warehouse's engine (defs/engines). Its metadata carries
the run's model, fit and holdout numbers and the two holdout plots (no customer data).
"""

from datetime import date
from pathlib import Path

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.config import Settings
from dagster_project.defs.engines import Engine
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.clv import ClvParameters
from dagster_project.lib.report.charts import png_data_uri

CUSTOMER_CLV = dg.AssetKey(["analytics", "customer_clv"])
CLV_MODEL_RUNS = dg.AssetKey(["analytics", "clv_model_runs"])


def clv_parameters(settings: Settings) -> ClvParameters:
    clv = settings.clv
    return ClvParameters(
        model=clv.model,
        time_unit=clv.time_unit,
        holdout_days=clv.holdout_days,
        horizon_days=clv.horizon_days,
        discount_rate=clv.discount_rate,
        lifetime_horizon_days=clv.lifetime_horizon_days,
    )


def _plots_markdown(paths: list[Path]) -> str:
    images = []
    for path in paths:
        uri = png_data_uri(path.read_bytes())
        images.append(f"**{path.stem.replace('_', ' ')}**\n\n![{path.stem}]({uri})")
    return "\n\n".join(images) or "No holdout plots (no holdout period)."


def customer_clv_asset(
    settings: Settings,
    partitions: dg.PartitionsDefinition,
    engine: Engine,
    dbt: dg.AssetsDefinition,
) -> dg.AssetsDefinition:
    params = clv_parameters(settings)
    # The day's purchase summary and purchases, as the analytics models computed them.
    upstream = [
        get_asset_key_for_model([dbt], "customer_rfm"),
        get_asset_key_for_model([dbt], "customer_purchases"),
    ]

    @dg.multi_asset(
        name="customer_clv",
        specs=[
            dg.AssetSpec(
                CUSTOMER_CLV,
                deps=upstream,
                group_name="analytics",
                kinds={"python", "duckdb"},
                description=(
                    "Per customer and as-of day: probability alive, expected purchases in 30/90/365 "
                    "days, churn probability, expected next purchase, predicted spend and CLV "
                    "(lifetimes BG/NBD, Pareto/NBD or MBG/NBD with Gamma-Gamma; a documented "
                    "heuristic when the data cannot support a model)."
                ),
            ),
            dg.AssetSpec(
                CLV_MODEL_RUNS,
                deps=upstream,
                group_name="analytics",
                kinds={"python", "duckdb"},
                description="One row per model fit of the day: parameters, fit and holdout numbers.",
            ),
        ],
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=1),
        pool=WAREHOUSE_POOL,
    )
    def _customer_clv(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        as_of = date.fromisoformat(context.partition_key)
        out_dir = settings.resolve(settings.reports_dir) / "clv" / as_of.isoformat()
        out_dir.mkdir(parents=True, exist_ok=True)
        run, scores = engine.fit_clv(warehouse, params, as_of, out_dir)
        runs = run.runs_frame()
        final = runs[runs["stage"] == "final"]
        purchase = final.iloc[0].to_dict() if len(final) else {}
        context.log.info(
            f"CLV as of {as_of}: {run.model}, {purchase.get('status')}, {len(scores)} customers"
        )
        yield dg.MaterializeResult(
            asset_key=CUSTOMER_CLV,
            metadata={
                "dagster/row_count": len(scores),
                "model": run.model,
                "method": str(scores["method"].iloc[0]) if len(scores) else "none",
                "status": str(purchase.get("status")),
                "message": str(purchase.get("message") or ""),
                "holdout_mae": dg.MetadataValue.float(
                    float(purchase.get("holdout_mae") or float("nan"))
                ),
                "mean_predicted_clv": dg.MetadataValue.float(
                    float(scores["predicted_clv"].mean()) if len(scores) else 0.0
                ),
                "holdout_plots": dg.MetadataValue.md(_plots_markdown(run.plots)),
                **{
                    f"seconds_{part}": dg.MetadataValue.float(value)
                    for part, value in run.seconds.items()
                },
            },
        )
        yield dg.MaterializeResult(
            asset_key=CLV_MODEL_RUNS,
            metadata={
                "dagster/row_count": len(runs),
                "fits": dg.MetadataValue.json(
                    runs.drop(columns=["parameters"]).astype(str).to_dict(orient="records")
                ),
            },
        )

    return _customer_clv
