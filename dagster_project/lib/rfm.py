"""The RFM segment scheme: which named segment each (R, FM) score pair falls in.

Scores run 1–5 (5 = best: most recent, most frequent, most spent). A segment is named by
rectangles of the grid of R against FM (the rounded mean of F and M). The scheme lives in
configuration; on load it must cover all 25 cells exactly once, and an error names the cell.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SCORES = range(1, 6)
_RANGE = re.compile(r"^\s*([1-5])\s*(?:-\s*([1-5])\s*)?$")


class SchemeError(ValueError):
    """A scheme that overlaps or leaves a cell out; the message names the cell."""


@dataclass(frozen=True)
class SegmentRule:
    """One rectangle of the grid: R scores `r` and FM scores `fm`, both inclusive ranges."""

    segment: str
    r: tuple[int, int]
    fm: tuple[int, int]

    def cells(self) -> Iterable[tuple[int, int]]:
        for r in range(self.r[0], self.r[1] + 1):
            for fm in range(self.fm[0], self.fm[1] + 1):
                yield r, fm


def parse_range(value: int | str) -> tuple[int, int]:
    """`4`, `"4"` or `"2-5"` as an inclusive (low, high) range of scores."""
    match = _RANGE.match(str(value))
    if not match:
        raise SchemeError(f"{value!r} is not a score or a range of scores such as 2-5 (1 to 5)")
    low = int(match.group(1))
    high = int(match.group(2) or low)
    if low > high:
        raise SchemeError(f"{value!r}: the range runs backwards")
    return low, high


def rules_from_config(
    segments: Mapping[str, Sequence[Mapping[str, int | str]]],
) -> list[SegmentRule]:
    """`{segment: [{r: "4-5", fm: "4-5"}, …]}` as rules."""
    rules = []
    for segment, rectangles in segments.items():
        for rectangle in rectangles:
            unknown = set(rectangle) - {"r", "fm"}
            if unknown or not {"r", "fm"} <= set(rectangle):
                raise SchemeError(f"{segment}: each rectangle needs exactly the keys r and fm")
            rules.append(
                SegmentRule(segment, parse_range(rectangle["r"]), parse_range(rectangle["fm"]))
            )
    return rules


def validate_scheme(rules: Sequence[SegmentRule]) -> dict[tuple[int, int], str]:
    """The cell → segment map, or SchemeError naming the first overlap or gap."""
    owner: dict[tuple[int, int], str] = {}
    for rule in rules:
        for cell in rule.cells():
            if cell in owner:
                raise SchemeError(
                    f"R={cell[0]} FM={cell[1]} is in both {owner[cell]!r} and {rule.segment!r}"
                )
            owner[cell] = rule.segment
    for r in SCORES:
        for fm in SCORES:
            if (r, fm) not in owner:
                raise SchemeError(f"R={r} FM={fm} is in no segment")
    return owner


# The default scheme (R rows 5..1, FM columns 1..5):
#   R5: New            Potential Loyalist  Potential Loyalist  Champions        Champions
#   R4: Promising      Potential Loyalist  Potential Loyalist  Loyal            Champions
#   R3: About to Sleep Need Attention      Need Attention      Loyal            Loyal
#   R2: Hibernating    About to Sleep      At Risk             At Risk          Can't Lose Them
#   R1: Lost           Hibernating         At Risk             Can't Lose Them  Can't Lose Them
DEFAULT_SEGMENTS: dict[str, list[dict[str, str]]] = {
    "Champions": [{"r": "5", "fm": "4-5"}, {"r": "4", "fm": "5"}],
    "Loyal": [{"r": "4", "fm": "4"}, {"r": "3", "fm": "4-5"}],
    "Potential Loyalist": [{"r": "4-5", "fm": "2-3"}],
    "New": [{"r": "5", "fm": "1"}],
    "Promising": [{"r": "4", "fm": "1"}],
    "Need Attention": [{"r": "3", "fm": "2-3"}],
    "About to Sleep": [{"r": "3", "fm": "1"}, {"r": "2", "fm": "2"}],
    "At Risk": [{"r": "2", "fm": "3-4"}, {"r": "1", "fm": "3"}],
    "Can't Lose Them": [{"r": "2", "fm": "5"}, {"r": "1", "fm": "4-5"}],
    "Hibernating": [{"r": "2", "fm": "1"}, {"r": "1", "fm": "2"}],
    "Lost": [{"r": "1", "fm": "1"}],
}


def scheme_cells(
    segments: Mapping[str, Sequence[Mapping[str, int | str]]],
) -> list[dict[str, int | str]]:
    """The validated scheme as 25 rows (r_score, fm_score, segment), for the SQL that applies it."""
    owner = validate_scheme(rules_from_config(segments))
    return [{"r_score": r, "fm_score": fm, "segment": owner[(r, fm)]} for r, fm in sorted(owner)]
