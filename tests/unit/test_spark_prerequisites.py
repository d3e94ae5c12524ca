"""A Spark warehouse on a machine that cannot start Spark stops before anything runs, saying why."""

from datetime import date
from pathlib import Path

import pytest

from dagster_project.config import settings_from_dict
from dagster_project.deliveries import RunError
from dagster_project.lib.spark import session
from dagster_project.pipeline import run_pipeline


def test_without_java_spark_is_unavailable_and_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(session.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    reason = session.spark_unavailable()
    # (pyspark may be missing too, on a machine set up without the spark extra)
    assert reason is not None and ("make java" in reason or "make setup" in reason)


def test_a_run_on_spark_without_java_is_refused_in_one_line(monkeypatch, tmp_path: Path):
    monkeypatch.setattr(session.shutil, "which", lambda name: None)
    monkeypatch.delenv("JAVA_HOME", raising=False)
    settings = settings_from_dict(
        {"start_date": "2025-01-01", "warehouse": {"engine": "spark"}},
        config_path=tmp_path / "loyalty.yml",
    )
    with pytest.raises(RunError) as error:
        run_pipeline(settings, date(2025, 1, 1), date(2025, 1, 2), show_progress=False)
    message = str(error.value)
    assert "warehouse.engine is spark" in message and str(tmp_path / "loyalty.yml") in message
    assert "\n" not in message
    assert not (tmp_path / "warehouse.duckdb").exists()
