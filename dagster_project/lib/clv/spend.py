"""Gamma-Gamma spend model (Fader & Hardie 2013) on repeat buyers, fitted unattended like the
purchase models (compressed rows, the same retry ladder, a status instead of an exception)."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
from lifetimes import GammaGammaFitter

from dagster_project.lib.clv.fit import (
    FIT_ERRORS,
    PARAMETER_NAMES,
    RETRY_LADDER,
    FitResult,
    quietly,
)
from dagster_project.lib.clv.settings import SPEND_MODEL, ClvParameters
from dagster_project.lib.clv.summary import customer_weights


def margin_summary(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary with margins where the spend model reads amounts: `monetary_margin` (mean
    gross margin of repeat purchase days) as `monetary_value` and `total_margin` as
    `total_spend`; NaN everywhere when the summary has no margins."""
    out = summary.drop(columns=["monetary_value", "total_spend"], errors="ignore")
    for column, source in (("monetary_value", "monetary_margin"), ("total_spend", "total_margin")):
        out[column] = (
            pd.to_numeric(summary[source], errors="coerce") if source in summary.columns else np.nan
        )
    return out


def _spend_rows(summary: pd.DataFrame) -> pd.DataFrame:
    """Repeat buyers with a positive mean spend, compressed on (frequency, monetary_value)."""
    if "monetary_value" in summary.columns:
        m = pd.to_numeric(summary["monetary_value"], errors="coerce")
    else:
        m = pd.Series(np.nan, index=summary.index)
    keep = (summary["frequency"] > 0) & (m > 0)
    buyers = pd.DataFrame(
        {
            "frequency": summary.loc[keep, "frequency"],
            "monetary_value": m[keep],
            "weight": customer_weights(summary)[keep.to_numpy()],
        }
    )
    return buyers.groupby(["frequency", "monetary_value"], sort=True)["weight"].sum().reset_index()


def fit_spend_model(
    summary: pd.DataFrame, params: ClvParameters | None = None, model: str = SPEND_MODEL
) -> FitResult:
    """Fit Gamma-Gamma on repeat buyers with a positive mean spend (as the model requires).

    `model` names the fit in its record: `gamma_gamma` on revenue, `gamma_gamma_margin` when
    the summary given carries margins in `monetary_value` and `total_spend` (`margin_summary`).

    Also records the Pearson correlation of frequency and mean spend over those buyers: the
    model assumes spend is independent of frequency, and a strong correlation is flagged in
    `message`. Status `no_spend_data` when neither `monetary_value` nor `total_spend` holds a
    non-zero amount (an event log),
    `insufficient_data` when fewer than `params.min_spend_buyers` buyers qualify.
    """
    params = params or ClvParameters()
    started = time.perf_counter()
    # Amounts exist if any mean repeat spend or total spend is non-zero; an event log has none.
    has_amounts = any(
        bool((pd.to_numeric(summary[c], errors="coerce").fillna(0) != 0).any())
        for c in ("monetary_value", "total_spend")
        if c in summary.columns
    )
    if not has_amounts:
        return FitResult(model, "no_spend_data", message="no purchase amounts in the data")
    rows = _spend_rows(summary)
    buyers = int(rows["weight"].sum())
    x = np.repeat(rows["frequency"].to_numpy(dtype=float), rows["weight"])
    m = np.repeat(rows["monetary_value"].to_numpy(dtype=float), rows["weight"])
    correlation = (
        float(np.corrcoef(x, m)[0, 1]) if buyers > 2 and x.std() > 0 and m.std() > 0 else None
    )
    if buyers < params.min_spend_buyers:
        return FitResult(
            model,
            "insufficient_data",
            customers=buyers,
            correlation=correlation,
            message=(
                f"{buyers} repeat buyers with positive spend, fewer than "
                f"min_spend_buyers {params.min_spend_buyers}"
            ),
        )
    notes: list[str] = []
    if correlation is not None and abs(correlation) > params.correlation_warning:
        notes.append(
            f"frequency-spend correlation {correlation:.2f} exceeds {params.correlation_warning}: "
            "Gamma-Gamma assumes they are independent"
        )
    xs = rows["frequency"].to_numpy(dtype=float)
    ms = rows["monetary_value"].to_numpy(dtype=float)
    ws = rows["weight"].to_numpy(dtype=float)
    for attempt, (penalizer, tol) in enumerate(RETRY_LADDER, start=1):
        label = f"attempt {attempt} (penalizer {penalizer}, tol {tol:g})"
        try:
            fitter = quietly(
                lambda p=penalizer, t=tol: GammaGammaFitter(penalizer_coef=p).fit(
                    xs, ms, weights=ws, tol=t
                )
            )
        except FIT_ERRORS as error:
            notes.append(f"{label}: {type(error).__name__}")
            continue
        values = fitter.params_.to_numpy(dtype=float)
        if not np.all(np.isfinite(values)) or values[1] <= 1:
            # q <= 1 makes the population mean spend p*v/(q-1) infinite or negative.
            notes.append(f"{label}: unusable parameters {np.round(values, 6).tolist()}")
            continue
        with np.errstate(all="ignore"):
            nll = GammaGammaFitter._negative_log_likelihood(np.log(values), xs, ms, ws, 0.0)
        notes.append(f"{label}: converged")
        return FitResult(
            model=model,
            status="ok",
            params=dict(zip(PARAMETER_NAMES[model], values.tolist(), strict=True)),
            log_likelihood=float(-nll * ws.sum()),
            converged=True,
            penalizer=penalizer,
            tolerance=tol,
            customers=buyers,
            rows_fitted=len(rows),
            seconds=round(time.perf_counter() - started, 3),
            attempts=attempt,
            message="; ".join(notes),
            correlation=correlation,
            fitter=fitter,
        )
    return FitResult(
        model=model,
        status="failed",
        customers=buyers,
        rows_fitted=len(rows),
        seconds=round(time.perf_counter() - started, 3),
        attempts=len(RETRY_LADDER),
        message="; ".join(notes),
        correlation=correlation,
    )
