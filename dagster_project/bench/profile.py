"""A sampling profile of the benchmark's pipeline runs (py-spy), to explain a missed target.

py-spy samples this process and its children (dbt) from outside, at a low rate, without changing
how they run. Its raw output (one line per distinct stack with a sample count) is kept next to
the result and summarised: the functions where the most samples were taken (self time) and the
project's own functions that the most samples passed through (inclusive time).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

PY_SPY = str(Path(sys.executable).parent / "py-spy")
OUR_CODE = "dagster_project/"


@contextlib.contextmanager
def sampling_profile(output: Path, rate: int = 20) -> Iterator[dict[str, Any]]:
    """py-spy on this process and its children while the block runs; `status` says whether it
    worked (py-spy needs the right to trace processes, which some containers withhold)."""
    status: dict[str, Any] = {"output": str(output)}
    output.parent.mkdir(parents=True, exist_ok=True)
    command = [
        PY_SPY,
        "record",
        "--pid",
        str(os.getpid()),
        "--subprocesses",
        "--nonblocking",
        "--rate",
        str(rate),
        "--format",
        "raw",
        "--output",
        str(output),
    ]
    try:
        spy = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
    except OSError as error:
        status["error"] = f"py-spy did not start: {error}"
        yield status
        return
    try:
        yield status
    finally:
        if spy.poll() is None:
            spy.send_signal(signal.SIGINT)
        try:
            _, errors = spy.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            spy.kill()
            _, errors = spy.communicate()
        if not output.exists():
            status["error"] = f"py-spy wrote no profile: {(errors or '').strip()[-300:]}"


def _frame_name(frame: str) -> str:
    """`function (path/to/file.py:12)` → `function (file path from the package on)`."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    if "site-packages/" in path:
        path = path.split("site-packages/", 1)[1]
    elif OUR_CODE in path:
        path = OUR_CODE + path.split(OUR_CODE, 1)[1]
    return f"{name} ({path})"


def summarise(raw: Path, top: int = 12) -> dict[str, Any]:
    """Shares of samples by function: where time is spent (self) and which of our functions it
    is spent under (inclusive)."""
    own: Counter[str] = Counter()
    under: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        total += samples
        frames = [_frame_name(f) for f in stack.split(";") if " (" in f]
        if frames:
            own[frames[-1]] += samples
        for name in set(frames):
            if OUR_CODE in name:
                under[name] += samples

    def shares(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"function": name, "share": round(samples / total, 4)}
            for name, samples in counter.most_common(top)
        ]

    return {"samples": total, "self": shares(own), "inclusive": shares(under)} if total else {}
