"""What a CLV run is asked to do: the model, its time unit, the horizons and the data thresholds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

PurchaseModel = Literal["bgnbd", "pareto_nbd", "mbgnbd"]
ModelChoice = Literal["bgnbd", "pareto_nbd", "mbgnbd", "auto"]
TimeUnit = Literal["D", "W"]

PURCHASE_MODELS: tuple[PurchaseModel, ...] = ("bgnbd", "mbgnbd", "pareto_nbd")
SPEND_MODEL = "gamma_gamma"
# The same Gamma-Gamma model fitted on each purchase's gross margin instead of its revenue.
MARGIN_MODEL = "gamma_gamma_margin"

# Days per model time unit: `W` means days / 7 (fractional weeks), as in Fader and Hardie's papers.
DAYS_PER_UNIT: dict[str, float] = {"D": 1.0, "W": 7.0}


@dataclass(frozen=True)
class ClvParameters:
    """Settings of one CLV run. The first six mirror the `clv` keys of `loyalty.yml`.

    - `model`: purchase model; `auto` fits all three on the calibration period and keeps the one
      with the lowest holdout MAE per customer (see `holdout.py`).
    - `time_unit`: the unit of `recency` and `T` in the summary and of the fitted rates. Weeks
      keep the optimiser's numbers of a similar size to the published CDNOW fits.
    - `holdout_days`: length of the validation window before the as-of date (0 = no holdout).
    - `horizon_days`: how far `predicted_clv` and `expected_next_purchase_date` look ahead.
    - `discount_rate`: annual rate by which future spend is discounted (0 = no discounting).
    - `lifetime_horizon_days`: how far `expected_remaining_days` looks. The purchase models'
      uncapped expected remaining lifetime is infinite for the parameters retail data gives, so
      the expectation is of the days still active within this horizon.
    - `min_repeat_buyers`: a purchase model has four parameters; with fewer repeat buyers than
      this their estimates are noise (dropout is learnt only from people who came back), so the
      heuristic is used instead.
    - `min_history_days`: the longest customer history (max `T`) must reach this many days; with a
      shorter window nobody has had time to lapse, and dropout cannot be told from a slow rhythm.
    - `min_spend_buyers`: Gamma-Gamma needs this many repeat buyers with a positive mean spend.
    - `correlation_warning`: |Pearson r| of frequency and spend above which the run record warns
      that Gamma-Gamma's independence assumption looks violated (the fit is still used).
    """

    model: ModelChoice = "bgnbd"
    time_unit: TimeUnit = "W"
    holdout_days: int = 91
    horizon_days: int = 365
    discount_rate: float = 0.0
    lifetime_horizon_days: int = 1825
    min_repeat_buyers: int = 50
    min_history_days: int = 90
    min_spend_buyers: int = 30
    correlation_warning: float = 0.3

    def __post_init__(self) -> None:
        if self.model not in (*PURCHASE_MODELS, "auto"):
            raise ValueError(
                f"clv.model must be one of bgnbd, pareto_nbd, mbgnbd, auto: {self.model!r}"
            )
        if self.time_unit not in DAYS_PER_UNIT:
            raise ValueError(f"clv.time_unit must be D or W: {self.time_unit!r}")
        if self.holdout_days < 0:
            raise ValueError(f"clv.holdout_days must be 0 or more: {self.holdout_days}")
        if self.horizon_days < 1:
            raise ValueError(f"clv.horizon_days must be at least 1: {self.horizon_days}")
        if self.lifetime_horizon_days < 1:
            raise ValueError(
                f"clv.lifetime_horizon_days must be at least 1: {self.lifetime_horizon_days}"
            )
        if not 0.0 <= self.discount_rate < 1.0:
            raise ValueError(f"clv.discount_rate must be in [0, 1): {self.discount_rate}")

    @property
    def days_per_unit(self) -> float:
        return DAYS_PER_UNIT[self.time_unit]

    def to_units(self, days: float) -> float:
        """A span in days expressed in the model's time unit."""
        return days / self.days_per_unit
