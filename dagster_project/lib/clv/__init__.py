"""Customer lifetime value: BG/NBD, MBG/NBD, Pareto/NBD purchases and Gamma-Gamma spend.

Pure Python on pandas frames (no Dagster). `run_clv` is the pipeline's entry point; the pieces
are public for tests and notebooks. docs/clv.md describes the models and every output column.
"""

from dagster_project.lib.clv.fit import RETRY_LADDER, FitResult, compress, fit_purchase_model
from dagster_project.lib.clv.holdout import HoldoutResult, evaluate_holdout, select_model, split
from dagster_project.lib.clv.plots import calibration_vs_holdout_plot, holdout_plots, tracking_plot
from dagster_project.lib.clv.predict import HeuristicPredictor, ModelPredictor
from dagster_project.lib.clv.run import RUN_COLUMNS, ClvRun, run_clv, run_record
from dagster_project.lib.clv.score import score_customers
from dagster_project.lib.clv.settings import PURCHASE_MODELS, ClvParameters
from dagster_project.lib.clv.spend import fit_spend_model
from dagster_project.lib.clv.summary import purchase_days, summarize, validate_summary

__all__ = [
    "PURCHASE_MODELS",
    "RETRY_LADDER",
    "RUN_COLUMNS",
    "ClvParameters",
    "ClvRun",
    "FitResult",
    "HeuristicPredictor",
    "HoldoutResult",
    "ModelPredictor",
    "calibration_vs_holdout_plot",
    "compress",
    "evaluate_holdout",
    "fit_purchase_model",
    "fit_spend_model",
    "holdout_plots",
    "purchase_days",
    "run_clv",
    "run_record",
    "score_customers",
    "select_model",
    "split",
    "summarize",
    "tracking_plot",
    "validate_summary",
]
