"""Pseudonymous keys: people are identified outside `pii.*` only by a keyed hash.

The key is a secret from the environment, so a `customer_key` cannot be recomputed from a card
number or an email by someone who only holds the warehouse. HMAC-SHA-256 is the standard keyed
hash; 128 bits of it (32 hex characters) is plenty to keep keys distinct and short in every table.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterable

DEFAULT_KEY_ENV = "LOYALTY_PSEUDONYM_KEY"
# Documented in the README: good for the demo and tests only; production sets its own secret.
DEMO_KEY = "loyalty-demo-key-not-secret"
KEY_HEX_CHARS = 32


def pseudonym_key(env_var: str = DEFAULT_KEY_ENV) -> tuple[str, bool]:
    """The key from `env_var`, and whether it is the demo key (the variable being unset)."""
    value = os.environ.get(env_var, "")
    if value:
        return value, value == DEMO_KEY
    return DEMO_KEY, True


def demo_key_refusal(env_var: str, config_path: object) -> str:
    """The one-line reason a run outside demo mode refuses the documented demo key."""
    return (
        f"{env_var} is not set (or holds the documented demo key): set a secret key of your own "
        f"before loading real customers; for synthetic data only, set privacy: {{demo: true}} "
        f"in {config_path}"
    )


class DemoKeyRefused(Exception):
    """A run outside demo mode has no key of its own (or holds the documented demo key)."""


def run_pseudonym_key(env_var: str, *, demo: bool, config_path: object) -> tuple[str, bool]:
    """The key a run hashes with, and whether it is the demo key. The one rule every entry point
    applies: the demo key is refused outside demo mode (synthetic data only), in one line."""
    key, is_demo_key = pseudonym_key(env_var)
    if is_demo_key and not demo:
        raise DemoKeyRefused(demo_key_refusal(env_var, config_path))
    return key, is_demo_key


def keyed_hash(value: str, key: str, namespace: str) -> str:
    """The pseudonymous key of one identifier within a namespace (`card`, `shopify`, …)."""
    digest = hmac.new(key.encode(), f"{namespace}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:KEY_HEX_CHARS]


def keyed_hashes(values: Iterable[str | None], key: str, namespace: str) -> dict[str, str]:
    """Map each distinct identifier to its pseudonymous key."""
    return {v: keyed_hash(v, key, namespace) for v in set(values) if v is not None}


# Columns of the raw and quarantine tables that hold a person's data or identify them: names,
# contacts (as delivered and normalised), birth date, where they live, card and account numbers,
# and the raw record a quarantined row keeps. By exact name: a pattern would also catch
# `email_marketing_consent_state`, whose values are a consent state, not a person.
PERSONAL_COLUMNS = frozenset(
    {
        "first_name",
        "last_name",
        "birth_date",
        "email",
        "email_normalized",
        "phone",
        "phone_e164",
        "customer_email",
        "customer_email_normalized",
        "customer_phone",
        "customer_phone_e164",
        "postal_code",
        "default_address_zip",
        "default_address_city",
        "card_id",
        "customer_id",
        "shopify_customer_id",
        "raw_record",
    }
)


def is_personal_column(column: str) -> bool:
    """Whether values of `column` may identify a person (so never shown or validated as is)."""
    return column.lower() in PERSONAL_COLUMNS
