"""Parameters of the synthetic world: the latent customer population and the business around it.

The population parameters are the truth that model-accuracy tests compare fitted CLV models
against, so they are written to `_truth/parameters.json`. Time is measured in days.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

# Independent random streams, one per part of the world. Each part draws from its own stream,
# so changing how many numbers one part draws does not shift every other part's data.
STREAMS = {
    "catalog": 1,
    "people": 2,
    "purchases": 3,
    "tickets": 4,
    "orders": 5,
    "members": 6,
    "shopify_customers": 7,
    "marketing": 8,
    "dirty": 9,
    "accounts": 10,
    "contacts": 11,
    "erasures": 12,
    "needs": 13,
    "campaign_activity": 14,
}


def stream(seed: int, name: str) -> np.random.Generator:
    """The random generator of one part of the world (never numpy's global one)."""
    return np.random.default_rng([seed, STREAMS[name]])


@dataclass(frozen=True)
class PopulationParams:
    """BG/NBD (purchases, dropout) and Gamma-Gamma (spend) population parameters, per day.

    Purchase rate lambda ~ Gamma(shape r, rate alpha); dropout probability after each repeat
    purchase p ~ Beta(a, b); spend scale nu ~ Gamma(shape q, rate gamma); each purchase's value
    z ~ Gamma(shape p, rate nu), so a person's mean spend is p / nu.
    """

    # Mean rate r / alpha = 1/30 per day: an active customer visits about once a month; r < 1
    # gives the long tail of occasional customers a pharmacy has.
    r: float = 0.9
    alpha: float = 27.0
    # Mean dropout a / (a + b) = 1/6 per repeat purchase: about six purchases on average over
    # two years (median three), one customer in seven never comes back.
    a: float = 1.0
    b: float = 5.0
    # Mean ticket p * gamma / (q - 1) = 28 EUR; each person's tickets vary by about 40 %.
    p: float = 6.0
    q: float = 4.0
    gamma: float = 14.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class WorldParams:
    """Shares and rates of the business around the customers (channels, returns, consents…)."""

    customers_per_store: int = 400
    min_stores: int = 3
    max_stores: int = 300
    base_products: int = 600
    new_products_per_month: int = 4
    discontinued_share: float = 0.08

    # Channels: members 80 %, online accounts 30 %, so 10 % hold both and nobody neither.
    member_share: float = 0.80
    online_share: float = 0.30
    prospect_share: float = 0.05  # of members: enrolled, never buy
    enrol_same_day_share: float = 0.85
    enrol_max_lead_days: int = 60
    home_store_share: float = 0.85
    both_email_link_share: float = 0.70  # of persons with both: same email, else same phone

    anonymous_ticket_share: float = 0.25  # of all POS tickets
    guest_order_share: float = 0.10  # of all online orders
    pos_coupon_share: float = 0.05
    online_coupon_share: float = 0.08
    return_share: float = 0.02
    refund_share: float = 0.05
    cancel_share: float = 0.02
    shipping_fee_cents: int = 395
    free_shipping_from_cents: int = 4900

    invalid_email_share: float = 0.01
    member_no_email_share: float = 0.08
    member_no_phone_share: float = 0.05
    shopify_phone_share: float = 0.60
    email_opt_in_share: float = 0.60
    sms_opt_in_share: float = 0.35
    shopify_subscribed_share: float = 0.60
    member_change_share: float = 0.10
    shopify_change_share: float = 0.10
    unsubscribe_share: float = 0.03  # of persons who consented to email
    newsletter_share: float = 0.02  # of the mailing list, sent each month's newsletter
    erasure_share: float = 0.0005
    need_share: float = 0.60  # of persons: a need leans part of their baskets (needs.py)
    need_line_share: float = 0.50  # of the lines of a person with a need


DEFAULT_POPULATION = PopulationParams()
DEFAULT_WORLD = WorldParams()
