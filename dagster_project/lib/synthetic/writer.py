"""Writing a source's rows as one file per day: `<landing path>/date=YYYY-MM-DD/<file>`.

Rows arrive sorted by day and are rendered a chunk of whole days at a time, so memory stays
bounded however long the period. Each chunk's records are joined into one Arrow string array
whose data buffer is already the concatenated file text; a day's file is a slice of it.
Nothing depends on the clock, the machine or thread timing: same rows, same bytes.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from dagster_project.lib.synthetic import dirty, text

CHUNK_ROWS = 400_000
Render = Callable[[int, int], dict[str, pa.Array]]


@dataclass(frozen=True)
class Delivery:
    """The rows of one landing source, sorted by day, and how to render a range of them."""

    landing_path: str  # e.g. "pos/tickets"
    file_name: str  # e.g. "tickets.csv"
    fields: tuple[str, ...]  # CSV header / JSON keys, in order
    day: np.ndarray  # day index of each row, non-decreasing
    render: Render
    faults: dirty.FaultPlan = field(default_factory=dirty.FaultPlan)

    @property
    def is_json(self) -> bool:
        return self.file_name.endswith(".jsonl")


@dataclass
class Written:
    """What writing a delivery produced."""

    files: int = 0
    rows: int = 0  # records written, duplicates included
    dirty: dict[str, list[np.ndarray]] = field(
        default_factory=lambda: {"file": [], "line": [], "fault": [], "column": []}
    )

    def dirty_table(self, source: str) -> pa.Table:
        parts = {
            k: np.concatenate(v) if v else np.array([], dtype=object) for k, v in self.dirty.items()
        }
        n = len(parts["line"])
        return pa.table(
            {
                "source": pa.repeat(pa.scalar(source, pa.string()), n),
                "file": pa.array(parts["file"], pa.string()),
                "line": pa.array(parts["line"], pa.int64()),
                "fault": pa.array(parts["fault"], pa.string()),
                "column": pa.array(parts["column"], pa.string()),
            }
        )


def _chunks(day: np.ndarray, n_days: int) -> list[tuple[int, int]]:
    """Row ranges of about CHUNK_ROWS rows that never split a day."""
    starts = np.searchsorted(day, np.arange(n_days + 1))
    bounds = [0]
    for s in starts[1:]:
        if s - bounds[-1] >= CHUNK_ROWS:
            bounds.append(int(s))
    if bounds[-1] != len(day):
        bounds.append(len(day))
    return list(itertools.pairwise(bounds))


def write_delivery(
    out_dir: Path,
    delivery: Delivery,
    clock: text.Clock,
    rng: np.random.Generator,
    dirty_rate: float,
) -> Written:
    written = Written()
    header = b"" if delivery.is_json else text.csv_header(delivery.fields).encode()
    first_line = 1 if delivery.is_json else 2  # record numbering as in specs.LINEAGE_COLUMNS
    for lo, hi in _chunks(delivery.day, clock.timeline.n_days):
        fields = delivery.render(lo, hi)
        if list(fields) != list(delivery.fields):
            raise ValueError(
                f"{delivery.landing_path}: rendered {list(fields)}, expected {delivery.fields}"
            )
        day = delivery.day[lo:hi]
        if dirty_rate > 0:
            injected = dirty.inject(rng, fields, delivery.faults, dirty_rate)
            fields = injected.fields
            out_day = np.repeat(day, injected.copies)
            _record(written, delivery, clock, injected, out_day, first_line)
        else:
            out_day = day
        lines = (
            text.json_lines(fields) if delivery.is_json else text.csv_lines(list(fields.values()))
        )
        written.files += _write_days(out_dir, delivery, clock, out_day, lines, header)
        written.rows += len(out_day)
    return written


def _record(
    written: Written,
    delivery: Delivery,
    clock: text.Clock,
    injected: dirty.Injected,
    out_day: np.ndarray,
    first_line: int,
) -> None:
    """Note file and line of every faulty row (a duplicate's second copy is the faulty one)."""
    position = np.cumsum(injected.copies) - 1  # output row of each input row's last copy
    day_start = np.searchsorted(out_day, out_day[position], side="left")
    faulty = injected.fault >= 0
    paths = text.strings(
        [f"{delivery.landing_path}/date={d}/{delivery.file_name}" for d in clock.day_labels]
    )
    day = out_day[position[faulty]]
    written.dirty["file"].append(text.lookup(paths, day).to_numpy(zero_copy_only=False))
    written.dirty["line"].append((position - day_start + first_line)[faulty])
    written.dirty["fault"].append(np.array(dirty.FAULTS, dtype=object)[injected.fault[faulty]])
    written.dirty["column"].append(injected.column[faulty])


def _write_days(
    out_dir: Path,
    delivery: Delivery,
    clock: text.Clock,
    day: np.ndarray,
    lines: pa.Array,
    header: bytes,
) -> int:
    """Write each day's slice of `lines` (records ending in a newline) to its own file."""
    if len(lines) == 0:
        return 0
    if isinstance(lines, pa.ChunkedArray):
        lines = lines.combine_chunks()
    width = np.int64 if pa.types.is_large_string(lines.type) else np.int32
    offsets = np.frombuffer(lines.buffers()[1], dtype=width)[
        lines.offset : lines.offset + len(lines) + 1
    ]
    data = memoryview(lines.buffers()[2])
    cuts = np.concatenate([[0], np.flatnonzero(np.diff(day)) + 1, [len(day)]])
    for a, b in itertools.pairwise(cuts):
        folder = out_dir / delivery.landing_path / f"date={clock.day_labels[day[a]]}"
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / delivery.file_name, "wb") as f:
            f.write(header)
            f.write(data[offsets[a] : offsets[b]])
    return len(cuts) - 1
