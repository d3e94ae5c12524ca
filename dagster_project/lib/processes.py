"""Processes by session, for stopping a command's whole tree (`loyalty ui`) and checking it stopped.

psutil lists processes portably; the session id comes from os.getsid (POSIX), which psutil
does not expose.
"""

from __future__ import annotations

import contextlib
import os

import psutil


def processes_in_session(session: int) -> list[psutil.Process]:
    """Every live process whose session id is `session` (a session leader's pid)."""
    found = []
    for process in psutil.process_iter():
        with contextlib.suppress(psutil.Error, ProcessLookupError, PermissionError):
            if os.getsid(process.pid) == session:
                found.append(process)
    return found
