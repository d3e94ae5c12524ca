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
    reached: np.ndarray | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Transaction lines of `members` (`customer_key`, `is_control`), one sale line per order, in
    the columns of marts.fct_transaction_lines the measurement reads (`line_id`,
    `transaction_id`, `customer_key`, `ordered_at`, `order_date`, `event_at`, `event_date`,
    `line_amount`, `is_prescription` and `is_sensitive`, `coupon_code`: none here) and
    `margin_amount`: `margin_share` of the amount, unknown (null) without one. With `reached`
    (a flag per member), only the treated members it flags get the uplift."""
    rng = np.random.default_rng(seed)
    n = len(members)
    treated = ~members["is_control"].to_numpy(dtype=bool)
    # The uplift acts through the message: on the treated it reached (all of them by default).
    if reached is not None:
        treated = treated & reached
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


def campaign_activity(
    members: pd.DataFrame,
    campaign: str,
    export_date: date,
    *,
    delivered_share: float,
    open_share: float = 0.3,
    seed: int = 0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """What an email tool reports on a wave, as Mailchimp does (sent to every treated member, a
    bounce for those it did not reach, opens and clicks among those it did), in the columns of
    marts.fct_campaign_activity; and the flag per member of who was reached."""
    rng = np.random.default_rng(seed)
    treated = ~members["is_control"].to_numpy(dtype=bool)
    reached = treated & (rng.random(len(members)) < delivered_share)
    opened = reached & (rng.random(len(members)) < open_share)
    clicked = opened & (rng.random(len(members)) < 0.3)
    keys = members["customer_key"].to_numpy()
    sent_at = pd.Timestamp(export_date) + pd.Timedelta(hours=9)
    events = [
        ("sent", treated, pd.Timedelta(0)),
        ("bounced", treated & ~reached, pd.Timedelta(minutes=5)),
        ("opened", opened, pd.Timedelta(hours=3)),
        ("clicked", clicked, pd.Timedelta(hours=3, minutes=1)),
    ]
    activity = pd.concat(
        [
            pd.DataFrame(
                {"customer_key": keys[who], "event_type": event, "occurred_at": sent_at + later}
            )
            for event, who, later in events
        ],
        ignore_index=True,
    )
    activity["campaign"] = campaign
    activity["source_tool"] = "mailchimp"
    activity["occurred_date"] = activity["occurred_at"].dt.date
    return activity, reached


def create_campaign_activity(con, activity: pd.DataFrame | None = None) -> None:
    """marts.fct_campaign_activity as dbt builds it, holding `activity` (from campaign_activity;
    no rows when None): for measurements made on a hand-made warehouse."""
    if activity is None:
        activity = pd.DataFrame(
            {
                "customer_key": pd.Series(dtype="object"),
                "campaign": pd.Series(dtype="object"),
                "event_type": pd.Series(dtype="object"),
                "source_tool": pd.Series(dtype="object"),
                "occurred_date": pd.Series(dtype="datetime64[s]"),
                "occurred_at": pd.Series(dtype="datetime64[us]"),
            }
        )
    con.execute("create schema if not exists marts")
    con.register("campaign_activity_rows", activity)
    con.execute(
        "create or replace table marts.fct_campaign_activity as select customer_key, campaign, "
        "event_type, source_tool, cast(occurred_date as date) as occurred_date, "
        "cast(occurred_at as timestamp) as occurred_at from campaign_activity_rows"
    )
    con.unregister("campaign_activity_rows")
