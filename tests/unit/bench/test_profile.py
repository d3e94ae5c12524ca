"""The benchmark's sampling profile: py-spy really samples this process, and the summary says
where the samples were taken."""

from __future__ import annotations

import time
from pathlib import Path

from dagster_project.bench.profile import sampling_profile, summarise
from dagster_project.lib.rfm import DEFAULT_SEGMENTS, rules_from_config, validate_scheme


def test_summary_gives_self_and_inclusive_shares(tmp_path: Path):
    raw = tmp_path / "raw.txt"
    raw.write_text(
        "process 1:main;run (dagster_project/pipeline.py:10);execute (/v/site-packages/duckdb/x.py:5) 30\n"
        "process 1:main;run (dagster_project/pipeline.py:10);load (dagster_project/lib/x.py:3) 10\n"
        "garbage line\n"
    )
    summary = summarise(raw)
    assert summary["samples"] == 40
    assert summary["self"][0] == {"function": "execute (duckdb/x.py)", "share": 0.75}
    assert summary["inclusive"][0] == {
        "function": "run (dagster_project/pipeline.py)",
        "share": 1.0,
    }
    assert {"function": "load (dagster_project/lib/x.py)", "share": 0.25} in summary["inclusive"]


def test_py_spy_samples_this_process(tmp_path: Path):
    output = tmp_path / "profile.txt"
    with sampling_profile(output, rate=100) as status:
        until = time.monotonic() + 2.0
        while time.monotonic() < until:
            validate_scheme(rules_from_config(DEFAULT_SEGMENTS))
    assert "error" not in status, status["error"]
    summary = summarise(output)
    assert summary["samples"] > 50
    busy = {entry["function"] for entry in summary["inclusive"]}
    assert "validate_scheme (dagster_project/lib/rfm.py)" in busy
