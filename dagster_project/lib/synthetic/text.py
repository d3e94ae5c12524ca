"""Vectorised formatting of values into the text of CSV fields and JSON tokens (Arrow compute).

Formatting millions of values one by one in Python would dominate the run time, so values are
rendered column-wise: a date or a clock time is looked up in a small table of pre-rendered
strings, money is integer cents split into euros and a two-digit cent part, and fields are
joined element-wise.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.lib.synthetic.timeline import SECONDS_PER_DAY, Timeline

Strings = pa.Array  # an Arrow string array

_CENTS = pa.array([f"{i:02d}" for i in range(100)])
_HMS = pa.array(
    [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(SECONDS_PER_DAY)]
)


def strings(values: Sequence[str] | np.ndarray) -> Strings:
    return pa.array(values, type=pa.string())


def lookup(table: Strings, index: np.ndarray) -> Strings:
    """`table[index]` for every element; a negative index gives a null."""
    index = np.asarray(index)
    mask = index < 0
    if mask.all():  # also when the table is empty
        return pa.nulls(len(index), table.type)
    taken = table.take(pa.array(np.where(mask, 0, index)))
    return with_nulls(taken, mask) if mask.any() else taken


def with_nulls(values: pa.Array, mask: np.ndarray) -> pa.Array:
    """`values` with nulls where `mask` is true."""
    return pc.if_else(pa.array(mask), pa.nulls(len(values), values.type), values)


def constant(value: str, n: int) -> Strings:
    return pa.repeat(pa.scalar(value, pa.string()), n)


def fill(values: pa.Array, mask: np.ndarray, value: str) -> Strings:
    """`values` with `value` where `mask` is true."""
    return pc.if_else(pa.array(mask), value, values)


def coalesce(*values: pa.Array) -> Strings:
    return pc.coalesce(*values)


def integers(values: np.ndarray) -> Strings:
    return pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())


def zero_padded(values: np.ndarray, width: int) -> Strings:
    return pc.utf8_lpad(integers(values), width=width, padding="0")


def money(cents: np.ndarray) -> Strings:
    """Integer cents as a decimal with two decimals and a dot: 1250 -> "12.50", -5 -> "-0.05"."""
    cents = np.asarray(cents, dtype=np.int64)
    absolute = np.abs(cents)
    sign = pc.if_else(pa.array(cents < 0), "-", "")
    return pc.binary_join_element_wise(
        sign, integers(absolute // 100), ".", _CENTS.take(pa.array(absolute % 100)), ""
    )


def booleans(values: np.ndarray) -> Strings:
    return pc.if_else(pa.array(np.asarray(values, dtype=bool)), "true", "false")


def concat(*parts: pa.Array | str) -> Strings:
    """Element-wise concatenation; a null part makes the result null."""
    return pc.binary_join_element_wise(*parts, "")


class Clock:
    """Renders days and local instants (seconds since the first midnight) of a timeline."""

    def __init__(self, timeline: Timeline) -> None:
        self.timeline = timeline
        self.day_labels = timeline.day_labels()
        self._dates = strings(self.day_labels)
        self._offsets = strings(timeline.offsets())

    def date(self, day: np.ndarray) -> Strings:
        """`YYYY-MM-DD` of day indexes."""
        return lookup(self._dates, day)

    def local(self, seconds: np.ndarray) -> Strings:
        """`YYYY-MM-DD HH:MM:SS`, local time (the CSV timestamp format)."""
        day, second = np.divmod(np.asarray(seconds, dtype=np.int64), SECONDS_PER_DAY)
        return pc.binary_join_element_wise(self.date(day), _HMS.take(pa.array(second)), " ")

    def iso(self, seconds: np.ndarray) -> Strings:
        """ISO 8601 with the Madrid offset of that day: `2025-03-01T10:15:00+01:00`."""
        day, second = np.divmod(np.asarray(seconds, dtype=np.int64), SECONDS_PER_DAY)
        return concat(
            self.date(day), "T", _HMS.take(pa.array(second)), self._offsets.take(pa.array(day))
        )


def csv_fields(values: pa.Array) -> Strings:
    """CSV field text: empty for null; quoted when it holds a delimiter, a quote, a line break or
    surrounding blanks (which some readers would otherwise trim)."""
    values = pc.cast(values, pa.string())
    needs_quotes = pc.fill_null(pc.match_substring_regex(values, r'[",\r\n]|^\s|\s$'), False)
    if pc.any(needs_quotes).as_py():
        quoted = concat('"', pc.replace_substring(values, '"', '""'), '"')
        values = pc.if_else(needs_quotes, quoted, values)
    return pc.fill_null(values, "")


def csv_lines(columns: Sequence[pa.Array]) -> Strings:
    """One CSV record per element, each ending with a newline."""
    line = pc.binary_join_element_wise(*[csv_fields(c) for c in columns], ",")
    return concat(line, "\n")


def csv_header(names: Sequence[str]) -> str:
    return ",".join(names) + "\n"


def json_string(values: pa.Array) -> Strings:
    """JSON string tokens (`"text"`), `null` for null."""
    escaped = pc.cast(values, pa.string())
    if pc.any(pc.match_substring_regex(escaped, r'[\\"\x00-\x1f]')).as_py():
        for raw, escape in (
            ("\\", "\\\\"),
            ('"', '\\"'),
            ("\n", "\\n"),
            ("\r", "\\r"),
            ("\t", "\\t"),
        ):
            escaped = pc.replace_substring(escaped, raw, escape)
    return pc.fill_null(concat('"', escaped, '"'), "null")


def json_raw(values: pa.Array) -> Strings:
    """Tokens already in JSON syntax (numbers, booleans, objects), `null` for null."""
    return pc.fill_null(pc.cast(values, pa.string()), "null")


def json_object(fields: dict[str, pa.Array]) -> Strings:
    """One JSON object per element from tokens keyed by field name, keys in the given order."""
    parts: list[pa.Array | str] = []
    for i, (name, token) in enumerate(fields.items()):
        parts.append(("{" if i == 0 else ", ") + f'"{name}": ')
        parts.append(token)
    parts.append("}")
    return concat(*parts)


def json_lines(fields: dict[str, pa.Array]) -> Strings:
    """One JSON object per element, each ending with a newline."""
    return concat(json_object(fields), "\n")


def json_arrays(tokens: pa.Array, counts: np.ndarray) -> Strings:
    """JSON arrays `[t1, t2]` grouping consecutive tokens: element i takes the next `counts[i]`."""
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    lists = pa.ListArray.from_arrays(pa.array(offsets), tokens)
    return concat("[", pc.binary_join(lists, ", "), "]")
