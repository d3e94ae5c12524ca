"""Finding a source's files for a day and reading their bytes once.

A file is read into memory once: its checksum, its encoding and the physical line structure the
CSV reader needs all come from those bytes. Daily landing files are small; a generic sales export
of a few hundred megabytes still fits comfortably.
"""

from __future__ import annotations

import gzip
import hashlib
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

DAY_FOLDER = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


class SourceFileError(Exception):
    """A whole file cannot be loaded; the message names the file and the problem in one line."""

    def __init__(self, file_name: str, problem: str) -> None:
        super().__init__(f"{file_name}: {problem}")
        self.file_name = file_name
        self.problem = problem


def day_folder(source_dir: Path, day: date) -> Path:
    return source_dir / f"date={day.isoformat()}"


def day_files(source_dir: Path, day: date, pattern: str) -> list[Path]:
    """The files delivered for `day`, in name order (an absent folder means none)."""
    folder = day_folder(source_dir, day)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(pattern) if p.is_file())


def delivered_days(source_dir: Path) -> list[date]:
    """Every day that has a folder under `source_dir`."""
    if not source_dir.is_dir():
        return []
    days = []
    for child in source_dir.iterdir():
        match = DAY_FOLDER.match(child.name)
        if match and child.is_dir():
            try:
                days.append(date.fromisoformat(match.group(1)))
            except ValueError:
                continue
    return sorted(days)


@dataclass(frozen=True)
class TextFile:
    """A delivered file's bytes (decompressed) and what we learned reading them."""

    path: Path
    name: str  # as recorded in lineage columns: relative to the landing folder
    data: bytes
    sha256: str
    encoding: str  # "utf-8" or "cp1252"
    has_bom: bool

    @property
    def is_compressed(self) -> bool:
        return self.path.suffix == ".gz"

    def text(self) -> str:
        body = self.data[3:] if self.has_bom else self.data
        return body.decode(self.encoding)


UTF8_BOM = b"\xef\xbb\xbf"


def file_sha256(path: Path) -> str:
    """Checksum of a file as delivered, read in chunks (Parquet files can be large)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_text_file(path: Path, name: str) -> TextFile:
    """Read a (possibly gzip-compressed) text file and work out its encoding.

    UTF-8 is expected; a file that is not valid UTF-8 is read as Windows-1252, the usual encoding
    of spreadsheet exports on Spanish Windows machines (a superset of Latin-1 for printable text).
    """
    raw = path.read_bytes()
    checksum = hashlib.sha256(raw).hexdigest()
    if path.suffix == ".gz":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise SourceFileError(name, f"not a readable gzip file ({error})") from None
    has_bom = raw.startswith(UTF8_BOM)
    body = raw[3:] if has_bom else raw
    try:
        body.decode("utf-8")
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
        try:
            body.decode(encoding)
        except UnicodeDecodeError:
            raise SourceFileError(
                name, "not a text file (neither UTF-8 nor Windows-1252)"
            ) from None
    if b"\x00" in body[:4096]:
        raise SourceFileError(name, "not a text file (binary content)")
    return TextFile(path, name, raw, checksum, encoding, has_bom)
