"""Control groups: a share of each export segment held out, never sent, to measure the lift.

Assignment is deterministic per customer and campaign (a keyed hash orders the candidates), sticky
(who was in a campaign's control group stays there, so a held-out customer is never sent the
campaign later), and stratified by value tier: each tier's control count is its quota of the
segment's (largest remainders, so the whole segment's control share is the configured share to
within one customer), filled from the newcomers of that tier in hash order.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from dagster_project.lib.privacy import keyed_hash

NO_TIER = "(none)"


def _uniform(customer_keys: pd.Series, campaign: str, key: str) -> pd.Series:
    """A stable number in [0, 1) per customer and campaign, unknowable without the key."""
    return customer_keys.map(lambda k: int(keyed_hash(k, key, f"control:{campaign}"), 16) / 16**32)


def stratum_quotas(sizes: pd.Series, share: float) -> pd.Series:
    """Control counts per stratum adding up to share × total rounded half up (largest
    remainders)."""
    exact = sizes * share
    quotas = exact.map(math.floor)
    missing = math.floor(float(sizes.sum()) * share + 0.5) - int(quotas.sum())
    if missing > 0:
        order = (exact - quotas).sort_values(ascending=False, kind="stable").index[:missing]
        quotas[order] += 1
    return quotas.astype(int)


def assign_control(
    members: pd.DataFrame,
    campaign: str,
    share: float,
    key: str,
    previous: pd.DataFrame | None = None,
) -> pd.Series:
    """Whether each of `members` (`customer_key`, `value_tier`) is in the control group.

    `previous` holds the campaign's earlier assignments (`customer_key`, `is_control`); they are
    kept for everyone still in the segment, and only newcomers are assigned.
    """
    if members.empty:
        return pd.Series([], dtype=bool, index=members.index)
    tier = members["value_tier"].fillna(NO_TIER).to_numpy()
    earlier = (
        dict(zip(previous["customer_key"], previous["is_control"], strict=True))
        if previous is not None
        else {}
    )
    keys = members["customer_key"].to_numpy()
    assigned = np.array([k in earlier for k in keys])
    is_control = np.array([bool(earlier.get(k, False)) for k in keys])
    order = _uniform(members["customer_key"], campaign, key).to_numpy()
    sizes = pd.Series(tier).value_counts().sort_index()
    for stratum, quota in stratum_quotas(sizes, share).items():
        in_stratum = tier == stratum
        wanted = quota - int(is_control[in_stratum].sum())
        newcomers = np.flatnonzero(in_stratum & ~assigned)
        # The newcomers of the stratum in hash order; the first ones fill what the quota lacks.
        chosen = newcomers[np.argsort(order[newcomers], kind="stable")][: max(0, wanted)]
        is_control[chosen] = True
    return pd.Series(is_control, index=members.index)
