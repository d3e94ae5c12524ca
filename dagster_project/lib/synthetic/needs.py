"""What a person comes to the pharmacy for besides the everyday: a need that leans part of their
baskets toward a few categories.

Real pharmacy baskets carry such patterns (a baby's parents buy baby care and hygiene, people
in later life orthopaedics, optics and over-the-counter remedies), and the cross-selling
recommendations learn from them. Without needs every line would be drawn from one popularity for
everybody, and the chain's baskets would hold nothing to learn but that popularity. A need never
involves prescription medicines: what a person is prescribed is not simulated as a taste.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dagster_project.lib.synthetic.catalog import CATEGORIES

# A need: the categories it leans toward (names of catalog.CATEGORIES).
NEEDS: dict[str, tuple[str, ...]] = {
    "young family": ("Bebé", "Higiene"),
    "skin care": ("Dermocosmética", "Nutrición"),
    "sport": ("Nutrición", "Ortopedia"),
    "later life": ("Ortopedia", "Óptica", "Parafarmacia OTC"),
    "couple": ("Salud sexual", "Higiene"),
}
CATEGORY_INDEX = {category.name: i for i, category in enumerate(CATEGORIES)}
NO_NEED = -1


def _need_table() -> tuple[np.ndarray, np.ndarray]:
    """(need, slot) → category index, padded; and the number of categories of each need."""
    width = max(len(categories) for categories in NEEDS.values())
    table = np.full((len(NEEDS), width), NO_NEED, dtype=np.int64)
    sizes = np.zeros(len(NEEDS), dtype=np.int64)
    for i, categories in enumerate(NEEDS.values()):
        for slot, name in enumerate(categories):
            if CATEGORIES[CATEGORY_INDEX[name]].is_prescription:
                raise ValueError(f"need {name!r}: a need never leans toward prescriptions")
            table[i, slot] = CATEGORY_INDEX[name]
        sizes[i] = len(categories)
    return table, sizes


NEED_TABLE, NEED_SIZES = _need_table()


def draw_needs(rng: np.random.Generator, n_persons: int, need_share: float) -> np.ndarray:
    """Each person's need (an index into NEEDS), or NO_NEED for `1 - need_share` of them."""
    has_need = rng.random(n_persons) < need_share
    return np.where(has_need, rng.integers(0, len(NEEDS), n_persons), NO_NEED)


@dataclass(frozen=True)
class Leaning:
    """Which category each line of a person with a need leans toward, drawn on its own stream
    so that the rest of the world (dates, values, coupons) is the same with or without needs."""

    needs: np.ndarray  # per person: index into NEEDS or NO_NEED
    line_share: float  # share of a leaning basket's lines drawn from the need's categories
    rng: np.random.Generator

    def categories(self, person: np.ndarray, n_lines: np.ndarray) -> np.ndarray:
        """Per line of baskets of `person` (-1: no known person) with `n_lines` lines each: the
        category the line is drawn from, or NO_NEED for a line drawn by popularity alone."""
        line_person = np.repeat(person, n_lines)
        need = np.where(line_person >= 0, self.needs[np.maximum(line_person, 0)], NO_NEED)
        leaning = (need != NO_NEED) & (self.rng.random(len(need)) < self.line_share)
        safe = np.maximum(need, 0)
        slot = (self.rng.random(len(need)) * NEED_SIZES[safe]).astype(np.int64)
        return np.where(leaning, NEED_TABLE[safe, slot], NO_NEED)
