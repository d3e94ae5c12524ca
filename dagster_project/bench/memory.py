"""Peak memory of the benchmark and everything it starts (dbt runs in a child process).

A background thread samples the resident memory of this process and all its descendants; a
stage's peak is the largest sample taken while it ran. Sampling every 0.1 s can miss a spike
shorter than that, so the figures are a floor, and close to the true peak for stages that last
seconds or more.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psutil


def tree_rss(process: psutil.Process) -> int:
    """Resident bytes of a process and its descendants (those that vanish mid-count count 0)."""
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.Error:
            continue
    return total


@dataclass
class MemorySampler:
    """`with MemorySampler() as sampler:` … then `sampler.peak(start, end)` in bytes."""

    interval: float = 0.1
    samples: list[tuple[float, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._process = psutil.Process()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.time(), tree_rss(self._process)))
            self._stop.wait(self.interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.time(), tree_rss(self._process)))

    def peak(self, start: float | None = None, end: float | None = None) -> int:
        """The largest sample in [start, end] (epoch seconds); the whole run without bounds."""
        window = [
            rss
            for at, rss in self.samples
            if (start is None or at >= start) and (end is None or at <= end)
        ]
        return max(window, default=0)
