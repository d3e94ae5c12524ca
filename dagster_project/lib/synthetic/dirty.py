"""Fault injection: the realistic mistakes a landing file carries, recorded so tests know them.

A share `rate` of the rows of a source get exactly one fault: a date that does not parse, a
negative price, a missing required id, an exact duplicate of the row, or a name whose UTF-8 was
decoded as Latin-1 (mojibake, "García" -> "GarcÃ­a"). The fault is applied to the rendered text
of a field, so files stay well-formed CSV / JSON: quoting happens afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.lib.synthetic import text

BAD_DATE, NEGATIVE_PRICE, MISSING_ID, DUPLICATE_ROW, MOJIBAKE = range(5)
FAULTS = ("bad_date", "negative_price", "missing_id", "duplicate_row", "mojibake")
BAD_DATES = ("2025-13-45", "31/02/2025")
# Accented letters of Spanish names and places; each becomes its UTF-8 bytes read as Latin-1.
_ACCENTED = "ÁÉÍÓÚÜÑáéíóúüñàèìòùçÇ"

# Kinds of field a fault applies to
DATE, TIMESTAMP, JSON_TIMESTAMP, CSV_TEXT, JSON_TOKEN = range(5)


@dataclass(frozen=True)
class FaultPlan:
    """Which fields of a source each fault can hit, with their kind (CSV text or JSON token)."""

    dates: tuple[tuple[str, int], ...] = ()  # (field, DATE | TIMESTAMP | JSON_TIMESTAMP)
    prices: tuple[tuple[str, int], ...] = ()  # (field, CSV_TEXT | JSON_TOKEN)
    ids: tuple[tuple[str, int], ...] = ()  # (field, CSV_TEXT | JSON_TOKEN): required ids
    names: tuple[str, ...] = ()  # fields holding names (text or JSON tokens)

    def faults(self) -> list[int]:
        available = [(BAD_DATE, self.dates), (NEGATIVE_PRICE, self.prices), (MISSING_ID, self.ids)]
        out = [fault for fault, targets in available if targets] + [DUPLICATE_ROW]
        return out + ([MOJIBAKE] if self.names else [])


@dataclass(frozen=True)
class Injected:
    """Fields after injection, with duplicates already expanded."""

    fields: dict[str, pa.Array]
    copies: np.ndarray  # per input row: 1, or 2 when duplicated (the copy is the faulty row)
    fault: np.ndarray  # per input row: index into FAULTS, -1 for a clean row
    column: np.ndarray  # per input row: name of the field hit ("" for a duplicate)


def mojibake(values: pa.Array) -> pa.Array:
    """UTF-8 text as it looks after being decoded as Latin-1."""
    for letter in _ACCENTED:
        values = pc.replace_substring(values, letter, letter.encode("utf-8").decode("latin-1"))
    return values


def _bad_dates(values: pa.Array, kind: int, variant: np.ndarray) -> pa.Array:
    bad = pc.choose(
        pa.array(variant, pa.int8()), *[text.constant(d, len(values)) for d in BAD_DATES]
    )
    if kind == DATE:
        return bad
    start = 1 if kind == JSON_TIMESTAMP else 0  # JSON tokens start with a quote
    return text.concat(
        pc.utf8_slice_codeunits(values, 0, start), bad, pc.utf8_slice_codeunits(values, start + 10)
    )


def _negative(values: pa.Array, kind: int) -> pa.Array:
    if kind == JSON_TOKEN:
        return text.concat('"-', pc.utf8_slice_codeunits(values, 1))
    return text.concat("-", values)


def _missing(values: pa.Array, kind: int) -> pa.Array:
    if kind == JSON_TOKEN:
        return text.constant("null", len(values))
    return pa.nulls(len(values), pa.string())


def inject(
    rng: np.random.Generator, fields: dict[str, pa.Array], plan: FaultPlan, rate: float
) -> Injected:
    """Give `rate` of the rows (rounded) one fault each."""
    n = len(next(iter(fields.values())))
    # Exactly round(rate * n) rows: those with the smallest draws, so the same numbers are drawn
    # whatever the rate and the rows hit at 1 % are also hit at 5 %.
    hit = np.zeros(n, dtype=bool)
    hit[np.argsort(rng.random(n), kind="stable")[: round(rate * n)]] = True
    available = np.array(plan.faults())
    fault = np.where(hit, available[rng.integers(0, len(available), n)], -1)
    target = rng.integers(0, 1 << 30, n)
    variant = rng.integers(0, len(BAD_DATES), n)
    column = np.full(n, "", dtype=object)
    fields = dict(fields)

    if plan.names:
        # Mojibake needs an accented letter in the chosen field; without one, duplicate instead.
        names = np.array(plan.names, dtype=object)
        chosen = np.where(fault == MOJIBAKE, target % len(names), -1)
        accented = np.zeros(n, dtype=bool)
        for i, name in enumerate(plan.names):
            has = pc.fill_null(pc.match_substring_regex(fields[name], f"[{_ACCENTED}]"), False)
            accented |= (chosen == i) & has.to_numpy(zero_copy_only=False)
        fault = np.where((fault == MOJIBAKE) & ~accented, DUPLICATE_ROW, fault)
        for i, name in enumerate(plan.names):
            rows = (fault == MOJIBAKE) & (chosen == i)
            if rows.any():
                fields[name] = pc.if_else(pa.array(rows), mojibake(fields[name]), fields[name])
                column[rows] = names[i]

    for code, targets, apply in (
        (BAD_DATE, plan.dates, lambda v, k: _bad_dates(v, k, variant)),
        (NEGATIVE_PRICE, plan.prices, _negative),
        (MISSING_ID, plan.ids, _missing),
    ):
        for i, (name, kind) in enumerate(targets):
            rows = (fault == code) & (target % len(targets) == i)
            if rows.any():
                fields[name] = pc.if_else(pa.array(rows), apply(fields[name], kind), fields[name])
                column[rows] = name

    copies = np.where(fault == DUPLICATE_ROW, 2, 1)
    if (copies > 1).any():
        repeat = pa.array(np.repeat(np.arange(n), copies))
        fields = {name: values.take(repeat) for name, values in fields.items()}
    return Injected(fields, copies, fault, column)
