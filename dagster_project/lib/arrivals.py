"""Whether a day's landing folders have all arrived: what the landing sensor waits for.

Sources deliver one folder per day (`<source>/date=YYYY-MM-DD/`). A day is ready when every
expected source has its folder with at least one file in it, and no file in them changed in the
last `settle_seconds`: a file still being copied must not be loaded half-written.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from dagster_project.config import Settings
from dagster_project.lib.sources.files import day_folder, delivered_days


@dataclass(frozen=True)
class DayArrival:
    day: date
    missing: tuple[str, ...]  # expected sources with no folder, or an empty one, for the day
    settling: tuple[str, ...]  # expected sources with a file changed within the settle time

    @property
    def ready(self) -> bool:
        return not self.missing and not self.settling

    def explain(self) -> str:
        parts = []
        if self.missing:
            parts.append("waits for " + ", ".join(self.missing))
        if self.settling:
            parts.append("files still changing in " + ", ".join(self.settling))
        return f"{self.day}: " + ("; ".join(parts) or "ready")


def day_arrival(
    settings: Settings, sources: Iterable[str], day: date, now: float, settle_seconds: float
) -> DayArrival:
    """What of `day` has arrived, for each of `sources` (folder source names), at time `now`."""
    missing, settling = [], []
    for source in sources:
        folder_root = settings.folder_source_dir(source)
        if folder_root is None:  # a disabled source is not waited for
            continue
        files = [p for p in day_folder(folder_root, day).glob("*") if p.is_file()]
        if not files:
            missing.append(source)
        elif any(now - p.stat().st_mtime < settle_seconds for p in files):
            settling.append(source)
    return DayArrival(day, tuple(missing), tuple(settling))


def days_delivered(settings: Settings, sources: Iterable[str], after: date | None) -> list[date]:
    """Days after `after` (and from start_date on) for which any of `sources` has a folder."""
    days: set[date] = set()
    for source in sources:
        folder_root = settings.folder_source_dir(source)
        if folder_root is not None:
            days.update(delivered_days(folder_root))
    return sorted(d for d in days if d >= settings.start_date and (after is None or d > after))
