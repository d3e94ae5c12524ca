"""Test-wide set-up: no telemetry, and a throw-away Dagster home for every test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dagster_project.lib.environment import TELEMETRY_OFF, prepare_dagster_home

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = REPO.parent / "shared" / "datasets"


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    os.environ.update(TELEMETRY_OFF)
    home = prepare_dagster_home(tmp_path_factory.mktemp("dagster_home"))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.pop("LOYALTY_CONFIG", None)
    os.environ.pop("LOYALTY_PSEUDONYM_KEY", None)
    yield
