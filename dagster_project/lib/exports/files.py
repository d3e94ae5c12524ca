"""Writing an export folder a tool can never see half of.

An export of one tool, segment and day is a folder `<exports>/<tool>/<segment>/<as_of_date>/`
holding the upsert file (in numbered parts when the tool limits a file's size), the opt-out and
leavers files and `manifest.json`. It is written under a temporary name, each file created owner-only
(it holds personal data), the manifest last; then the folder is renamed into place and the
`latest` link moved to it. An interrupted export leaves the previous folder and `latest` as they
were. Nothing in the files depends on when they were written, so a re-run is byte-identical.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

LATEST = "latest"
MANIFEST = "manifest.json"
# A spreadsheet runs a cell starting with one of these as a formula (=HYPERLINK(...) and friends).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> Any:
    """A text value a spreadsheet would run as a formula, made inert by a leading quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


# A phone number in E.164 form ("+34612345678"): digits after one plus, never a formula. Such a
# value keeps its plus (a quote in front would break the number in every tool that reads it).
E164 = re.compile(r"\+[1-9][0-9]{1,14}")


def _neutralise_phone(value: Any) -> Any:
    return value if isinstance(value, str) and E164.fullmatch(value) else neutralise(value)


def neutralise_frame(frame: pd.DataFrame, phone_columns: Iterable[str] = ()) -> pd.DataFrame:
    """Every text column of `frame` with formula-like values neutralised, by column type: in a
    phone column a valid E.164 number stays as it is, any other value is neutralised."""
    frame = frame.copy()
    phones = set(phone_columns)
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_string_dtype(series) and not pd.api.types.is_object_dtype(series):
            # A text column (pandas' str dtype): the same rule, column at a time.
            formula = series.str.startswith(FORMULA_STARTS).fillna(False).astype(bool)
            if column in phones:
                formula &= ~series.str.fullmatch(E164.pattern).fillna(False).astype(bool)
            frame[column] = series.where(~formula, "'" + series)
        elif pd.api.types.is_object_dtype(series):
            # Values of any kind: one at a time.
            frame[column] = series.map(_neutralise_phone if column in phones else neutralise)
    return frame


def _cells(series: pd.Series) -> list[Any]:
    """A column's values as the CSV writer gets them: "" for a missing value, else the value."""
    values = series.tolist()
    for index in np.flatnonzero(series.isna().to_numpy()):
        values[index] = ""
    return values


def _may_span_lines(frame: pd.DataFrame) -> bool:
    """Whether a value holds a line break (the CSV writer quotes it, so a row spans lines)."""
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_object_dtype(series):
            # The writer writes str(value) of any other kind of value.
            texts = [str(value) for value in series.dropna().tolist()]
            breaks = any("\n" in text or "\r" in text for text in texts)
        elif pd.api.types.is_string_dtype(series):
            breaks = bool(series.str.contains("[\r\n]", regex=True).fillna(False).any())
        else:
            breaks = False
        if breaks:
            return True
    return False


def _encoded_rows(frame: pd.DataFrame, delimiter: str) -> list[bytes]:
    """Each row of `frame` as one line of UTF-8 CSV (Python's csv writer, minimal quoting).

    The rows are written together and cut at the line ends; a frame with a line break in a
    value (a quoted field spanning lines) is written row by row instead."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    rows = zip(*(_cells(frame[column]) for column in frame.columns), strict=True)
    if _may_span_lines(frame):
        encoded = []
        for row in rows:
            writer.writerow(row)
            encoded.append(buffer.getvalue().encode("utf-8"))
            buffer.seek(0)
            buffer.truncate()
        return encoded
    writer.writerows(rows)
    lines = buffer.getvalue().encode("utf-8").split(b"\n")[:-1]
    return [line + b"\n" for line in lines]


def split_csv(
    frame: pd.DataFrame,
    *,
    delimiter: str = ",",
    max_rows: int | None = None,
    max_bytes: int | None = None,
) -> list[bytes]:
    """`frame` as UTF-8 CSV, in as many parts as the limits need, each with the header."""
    header = _header(frame, delimiter)
    parts: list[bytes] = []
    current = [header]
    size, rows = len(header), 0
    for encoded in _encoded_rows(frame, delimiter):
        full = (max_rows is not None and rows >= max_rows) or (
            max_bytes is not None and rows > 0 and size + len(encoded) > max_bytes
        )
        if full:
            parts.append(b"".join(current))
            current, size, rows = [header], len(header), 0
        current.append(encoded)
        size += len(encoded)
        rows += 1
    parts.append(b"".join(current))
    return parts


def _header(frame: pd.DataFrame, delimiter: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\n").writerow(list(frame.columns))
    return buffer.getvalue().encode("utf-8")


def part_names(stem: str, suffix: str, count: int) -> list[str]:
    """`stem.suffix` for one part; `stem_part01.suffix`, … for several."""
    if count == 1:
        return [f"{stem}{suffix}"]
    return [f"{stem}_part{n:02d}{suffix}" for n in range(1, count + 1)]


def _write_private(path: Path, data: bytes) -> None:
    """Create `path` readable and writable by its owner only (it may hold personal data)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


@dataclass(frozen=True)
class ExportFile:
    name: str
    kind: str  # upsert | optout | leavers
    data: bytes
    rows: int


def publish_export(
    folder: Path, files: Sequence[ExportFile], manifest: dict[str, Any]
) -> dict[str, Any]:
    """Write `files` and the manifest into `folder` atomically and point `latest` at it.

    `folder` is `<exports>/<tool>/<segment>/<as_of_date>`; a folder of that day written before is
    replaced whole. Returns the manifest as written (with each file's rows and sha256).
    """
    parent = folder.parent
    parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    staging = parent / f".{folder.name}.partial-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(mode=0o700)
    written = {
        **manifest,
        "files": [
            {
                "name": f.name,
                "kind": f.kind,
                "rows": f.rows,
                "bytes": len(f.data),
                "sha256": hashlib.sha256(f.data).hexdigest(),
            }
            for f in files
        ],
    }
    for f in files:
        _write_private(staging / f.name, f.data)
    # The manifest last: a folder with a manifest is complete.
    text = json.dumps(written, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    _write_private(staging / MANIFEST, text.encode("utf-8"))
    _swap_into_place(staging, folder)
    # A backfill of an older day never moves `latest` back (folder names are ISO dates).
    current = latest_as_of(parent)
    if current is None or folder.name >= current:
        _point_latest(parent, folder.name)
    return written


def _swap_into_place(staging: Path, folder: Path) -> None:
    old = folder.parent / f".{folder.name}.old-{os.getpid()}"
    if folder.exists():
        folder.rename(old)
    staging.rename(folder)
    if old.exists():
        shutil.rmtree(old)


def _point_latest(parent: Path, name: str) -> None:
    """Move `latest` to `name` in one rename (a reader sees the old or the new, never none)."""
    link = parent / LATEST
    incoming = parent / f".{LATEST}.incoming-{os.getpid()}"
    if incoming.is_symlink() or incoming.exists():
        incoming.unlink()
    incoming.symlink_to(name, target_is_directory=True)
    incoming.replace(link)


def latest_as_of(parent: Path) -> str | None:
    """The as-of date `latest` points to in a tool's segment folder, if any."""
    link = parent / LATEST
    return os.readlink(link) if link.is_symlink() else None
