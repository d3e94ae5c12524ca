"""Calendar of the simulation: seasonality, operational time, local clock and Madrid offsets.

Purchases are simulated in *operational time*, in which a person's purchases form a plain
Poisson process (so the process is exactly BG/NBD there). Operational time is mapped to the
calendar through the cumulative daily intensity: a busy day (a Saturday, a December day) holds
more operational time, so more purchases land on it. The intensity has mean 1 over the period,
so one unit of operational time is one average day and rates stay "per day".

All instants are local (Europe/Madrid) wall-clock times held as integer seconds since midnight
of the first day; the offset to UTC is only attached when a timestamp is formatted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

SECONDS_PER_DAY = 86_400
# Store opening hours for POS timestamps, and the hours in which people shop online. Neither
# touches 02:00-03:00, the hour the clocks jump, so every local time exists exactly once.
STORE_HOURS = (9 * 3600, 21 * 3600)
ONLINE_HOURS = (7 * 3600, 24 * 3600)

# Monday..Sunday: Saturday is the busy day, Sunday only the on-duty pharmacies.
WEEKDAY_FACTOR = np.array([1.0, 0.97, 0.97, 1.0, 1.1, 1.3, 0.35])
# January..December: winter colds and the December peak; Spain empties in August.
MONTH_FACTOR = np.array([1.1, 1.05, 1.0, 0.97, 0.97, 1.0, 0.92, 0.72, 0.98, 1.0, 1.05, 1.22])
HOLIDAY_FACTOR = 0.35
# National holidays (month, day); Good Friday is added per year.
FIXED_HOLIDAYS = ((1, 1), (1, 6), (5, 1), (8, 15), (10, 12), (11, 1), (12, 6), (12, 8), (12, 25))


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    l_ = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l_) // 451
    month, day = divmod(h + l_ - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _last_sunday(year: int, month: int) -> date:
    last = date(year, month, 31)
    return last - timedelta(days=(last.weekday() + 1) % 7)


def madrid_offset(day: date) -> str:
    """UTC offset of Madrid during the daytime of `day` (EU rule: summer time between the last
    Sundays of March and October, switching at 01:00 UTC, i.e. before any of our hours)."""
    summer = _last_sunday(day.year, 3) <= day < _last_sunday(day.year, 10)
    return "+02:00" if summer else "+01:00"


@dataclass(frozen=True)
class Timeline:
    """The days from `start` to `end` (inclusive) and their shopping intensity."""

    start: date
    end: date
    weight: np.ndarray = field(repr=False)  # intensity per day, mean 1
    cum: np.ndarray = field(repr=False)  # cum[d] = weight[:d].sum(); len n_days + 1

    @classmethod
    def build(cls, start: date, end: date) -> Timeline:
        if end < start:
            raise ValueError(f"end {end} is before start {start}")
        days = np.arange(
            np.datetime64(start, "D"), np.datetime64(end, "D") + np.timedelta64(1, "D")
        )
        weekday = (days.astype(np.int64) - 4) % 7  # 1970-01-01 was a Thursday
        month = days.astype("datetime64[M]").astype(np.int64) % 12
        weight = WEEKDAY_FACTOR[weekday] * MONTH_FACTOR[month]
        holidays = [
            np.datetime64(date(y, m, d), "D")
            for y in range(start.year, end.year + 1)
            for m, d in FIXED_HOLIDAYS
        ] + [
            np.datetime64(easter_sunday(y) - timedelta(days=2), "D")
            for y in range(start.year, end.year + 1)
        ]
        weight = np.where(np.isin(days, holidays), HOLIDAY_FACTOR * MONTH_FACTOR[month], weight)
        weight = weight / weight.mean()
        cum = np.concatenate([[0.0], np.cumsum(weight)])
        return cls(start, end, weight, cum)

    @property
    def n_days(self) -> int:
        return len(self.weight)

    @property
    def horizon(self) -> float:
        """Length of the period in operational time (equals the number of days)."""
        return float(self.cum[-1])

    def dates(self) -> np.ndarray:
        """The calendar day of each day index (datetime64[D])."""
        return np.datetime64(self.start, "D") + np.arange(self.n_days)

    def day_labels(self) -> list[str]:
        """`YYYY-MM-DD` of each day index."""
        return [str(d) for d in self.dates()]

    def offsets(self) -> list[str]:
        """Madrid UTC offset (`+01:00` / `+02:00`) of each day index."""
        return [madrid_offset(self.start + timedelta(days=i)) for i in range(self.n_days)]

    def month_index(self, day: np.ndarray) -> np.ndarray:
        """Months since the month of `start` (0 for the first month)."""
        months = (np.datetime64(self.start, "D") + day).astype("datetime64[M]").astype(np.int64)
        return months - np.datetime64(self.start, "M").astype(np.int64)

    @property
    def n_months(self) -> int:
        return int(self.month_index(np.array([self.n_days - 1]))[0]) + 1

    def locate(self, op_time: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Day index and fraction of that day's operational time of each operational instant."""
        day = np.searchsorted(self.cum, op_time, side="right") - 1
        day = np.clip(day, 0, self.n_days - 1)
        frac = np.clip((op_time - self.cum[day]) / self.weight[day], 0.0, np.nextafter(1.0, 0))
        return day.astype(np.int32), frac

    @staticmethod
    def clock(day: np.ndarray, frac: np.ndarray, hours: tuple[int, int]) -> np.ndarray:
        """Local seconds since the first midnight: `frac` of the day spread over `hours`, so the
        order of instants within a day is kept."""
        opens, closes = hours
        return (
            day.astype(np.int64) * SECONDS_PER_DAY
            + opens
            + (frac * (closes - opens)).astype(np.int64)
        )

    def to_op_time(self, day: np.ndarray) -> np.ndarray:
        """Operational time at the start of each day index."""
        return self.cum[day]
