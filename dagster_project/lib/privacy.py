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


class MissingKeyWarning(UserWarning):
    """The pseudonymisation key is not set and the documented demo key is used."""


def pseudonym_key(env_var: str = DEFAULT_KEY_ENV) -> tuple[str, bool]:
    """The key from `env_var`, and whether it is the demo key (the variable being unset)."""
    value = os.environ.get(env_var, "")
    if value:
        return value, value == DEMO_KEY
    return DEMO_KEY, True


def keyed_hash(value: str, key: str, namespace: str) -> str:
    """The pseudonymous key of one identifier within a namespace (`card`, `shopify`, …)."""
    digest = hmac.new(key.encode(), f"{namespace}:{value}".encode(), hashlib.sha256)
    return digest.hexdigest()[:KEY_HEX_CHARS]


def keyed_hashes(values: Iterable[str | None], key: str, namespace: str) -> dict[str, str]:
    """Map each distinct identifier to its pseudonymous key."""
    return {v: keyed_hash(v, key, namespace) for v in set(values) if v is not None}


# Parts of a column name that mark personal data (names, contacts, birth date, where someone
# lives, card numbers). Generous on purpose: hiding a product name's example costs nothing, showing
# an email in a check's metadata breaks the promise that PII stays in `pii.*`.
_PERSONAL_NAME_PARTS = (
    "name",
    "email",
    "phone",
    "birth",
    "postal",
    "zip",
    "address",
    "city",
    "card_id",
    "raw_record",
)


def is_personal_column(column: str) -> bool:
    """Whether values of `column` may identify a person (so never shown as examples)."""
    lowered = column.lower()
    return any(part in lowered for part in _PERSONAL_NAME_PARTS)
