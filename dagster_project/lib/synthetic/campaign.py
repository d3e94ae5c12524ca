"""A campaign's effect, simulated: purchases of a campaign's members after its export day, with a
known uplift for the treated, so the lift estimate can be checked against the truth.

Every member buys in the window after the export with the base probability, treated members with
the base plus the uplift; a buyer's window revenue is Gamma-distributed (the spend model of the
generator). Members also buy before the export and after the window, which a correct measurement
ignores.
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd


def campaign_response(
    members: pd.DataFrame,
    export_date: date,
    window_days: int,
    *,
    base_rate: float,
    uplift: float,
    mean_spend: float = 40.0,
    margin_share: float | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Transaction lines of `members` (`customer_key`, `is_control`), one sale line per order, in
    the columns of marts.fct_transaction_lines the measurement reads (`line_id`,
    `transaction_id`, `customer_key`, `ordered_at`, `order_date`, `event_at`, `event_date`,
    `line_amount`, `is_prescription` and `is_sensitive`, `coupon_code`: none here) and
    `margin_amount`: `margin_share` of the amount, unknown (null) without one."""
    rng = np.random.default_rng(seed)
    n = len(members)
    treated = ~members["is_control"].to_numpy(dtype=bool)
    buys = rng.random(n) < base_rate + uplift * treated
    shape = 2.0
    amounts = rng.gamma(shape, mean_spend / shape, n).round(2)
    in_window = rng.integers(1, window_days + 1, n)
    keys = members["customer_key"].to_numpy()
    frames = [
        pd.DataFrame(
            {
                "customer_key": keys[buys],
                "ordered_at": [export_date + timedelta(days=int(d)) for d in in_window[buys]],
                "line_amount": amounts[buys],
            }
        ),
        # Outside the window: the day of the export itself, and after the window closed.
        pd.DataFrame(
            {
                "customer_key": keys[::3],
                "ordered_at": export_date,
                "line_amount": 25.0,
            }
        ),
        pd.DataFrame(
            {
                "customer_key": keys[1::3],
                "ordered_at": export_date + timedelta(days=window_days + 1),
                "line_amount": 25.0,
            }
        ),
    ]
    purchases = pd.concat(frames, ignore_index=True)
    purchases["ordered_at"] = pd.to_datetime(purchases["ordered_at"]) + pd.Timedelta(hours=12)
    purchases["order_date"] = purchases["ordered_at"].dt.date
    purchases["event_at"] = purchases["ordered_at"]
    purchases["event_date"] = purchases["order_date"]
    purchases["is_prescription"] = False
    purchases["is_sensitive"] = False
    purchases["coupon_code"] = pd.Series([None] * len(purchases), dtype="object")
    margins = purchases["line_amount"] * (margin_share if margin_share is not None else np.nan)
    purchases["margin_amount"] = margins.round(2).astype("Float64")  # NaN → null
    purchases.insert(0, "transaction_id", [f"T{i}" for i in range(len(purchases))])
    purchases.insert(0, "line_id", purchases["transaction_id"] + ":1")
    return purchases
