"""What a test needs from the machine, and what happens when it is missing.

Off CI a missing prerequisite skips the test with the reason; under CI=true its absence is a
failure, never a skip: `.ci/run` installs chromium and Java (make browser, make java), and
PostgreSQL runs on the CI machine itself (127.0.0.1:5432, trust auth; tests make their own
databases).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import NoReturn

import pytest

# Debian's chromium (make browser): a test tool's own browser download cannot work offline.
CHROMIUM = Path("/usr/bin/chromium")


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it under CI=true."""
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def require_chromium() -> Path:
    if not CHROMIUM.exists():
        unavailable(f"Debian's chromium is not installed at {CHROMIUM} (make browser installs it)")
    return CHROMIUM
