"""PNG plots of a holdout check, drawn without pyplot so no display or global state is touched."""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dagster_project.lib.clv.holdout import HoldoutResult


def _save(figure: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=100, bbox_inches="tight")
    return path


def calibration_vs_holdout_plot(result: HoldoutResult, path: Path) -> Path:
    """Mean actual vs predicted holdout purchases per customer, by calibration frequency."""
    table = result.calibration_vs_holdout
    figure = Figure(figsize=(7, 4.5))
    axes = figure.add_subplot()
    axes.plot(table["frequency_bucket"], table["actual_mean"], marker="o", label="actual")
    axes.plot(
        table["frequency_bucket"],
        table["predicted_mean"],
        marker="s",
        label=f"{result.model} ({result.method})",
    )
    axes.set_xlabel("repeat purchases in calibration period")
    axes.set_ylabel(
        f"mean purchases in holdout ({(result.as_of - result.calibration_end).days} days)"
    )
    axes.set_title(
        f"Calibration vs holdout, MAE {result.mae:.3f}"
        if result.mae is not None
        else "Calibration vs holdout"
    )
    axes.legend()
    return _save(figure, path)


def tracking_plot(result: HoldoutResult, path: Path) -> Path:
    """Actual vs expected cumulative repeat purchases of the calibration customers over time."""
    table = result.tracking
    figure = Figure(figsize=(8, 4.5))
    axes = figure.add_subplot()
    axes.plot(table["date"], table["actual"], label="actual")
    if table["expected"].notna().any():
        axes.plot(
            table["date"], table["expected"], linestyle="--", label=f"expected ({result.model})"
        )
    axes.axvline(result.calibration_end, color="grey", linestyle=":", label="end of calibration")
    axes.set_ylabel("cumulative repeat purchases")
    axes.set_title("Tracking: cumulative repeat purchases")
    axes.legend()
    figure.autofmt_xdate()
    return _save(figure, path)


def holdout_plots(result: HoldoutResult, out_dir: Path) -> list[Path]:
    """The plots of `result` that have something to show, in `out_dir`; returns their paths.

    A history shorter than the holdout window leaves no calibration customers: no plot then.
    """
    out_dir = Path(out_dir)
    paths = []
    if len(result.calibration_vs_holdout):
        paths.append(
            calibration_vs_holdout_plot(
                result, out_dir / f"clv_calibration_vs_holdout_{result.model}.png"
            )
        )
    if len(result.tracking):
        paths.append(tracking_plot(result, out_dir / f"clv_tracking_{result.model}.png"))
    return paths
