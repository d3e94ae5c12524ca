"""Normalising contact details so the same person is recognised across sources.

A card form and an online account spell the same address or number differently
(`Ana.Garcia@Gmail.com ` / `ana.garcia@gmail.com`, `612 345 678` / `+34612345678`). Parsing is
left to well-kept libraries: email-validator (syntax only, never a DNS lookup) and phonenumbers
(Google's libphonenumber metadata). Both work on distinct values, so a column of a million rows
costs one call per distinct address.
"""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
from email_validator import EmailNotValidError, validate_email


def normalize_email(value: str | None) -> str | None:
    """The lower-cased, trimmed address when it is syntactically valid, else None."""
    if value is None:
        return None
    candidate = value.strip()
    if not candidate:
        return None
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError:
        return None
    # Domains are case-insensitive by standard; local parts are in practice, and treating them
    # so is what lets a card form and an online account meet.
    return result.normalized.lower()


def phone_e164(value: str | None, default_region: str = "ES") -> str | None:
    """The number in E.164 (`+34612345678`) when it parses as a possible number, else None."""
    if value is None or not value.strip():
        return None
    try:
        number = phonenumbers.parse(value, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_emails(values: Iterable[str | None]) -> dict[str, str | None]:
    """Map each distinct address to its normalised form (None when invalid)."""
    return {v: normalize_email(v) for v in set(values) if v is not None}


def phones_e164(values: Iterable[str | None], default_region: str = "ES") -> dict[str, str | None]:
    """Map each distinct phone number to E.164 (None when it does not parse)."""
    return {v: phone_e164(v, default_region) for v in set(values) if v is not None}
