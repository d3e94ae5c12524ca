"""Real public data through the generic source, with the configs docs/examples/ shows: UCI Online
Retail (real mess: cancellations, missing customer ids, float ids) and a grocery event log with no
amounts at all."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[2]
LOYALTY = str(Path(sys.executable).parent / "loyalty")


def run_example(name: str, datasets: Path, tmp_path: Path) -> duckdb.DuckDBPyConnection:
    """Run docs/examples/<name>.yml with its landing folder pointing at the shared datasets."""
    config = tmp_path / f"{name}.yml"
    text = (REPO / "docs" / "examples" / f"{name}.yml").read_text(encoding="utf-8")
    config.write_text(text.replace("landing_dir: .", f"landing_dir: {datasets}"), encoding="utf-8")
    run = subprocess.run(
        [LOYALTY, "run", "--config", str(config)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Traceback" not in run.stderr
    return duckdb.connect(str(tmp_path / f"{name}.duckdb"), read_only=True)


@pytest.fixture(scope="module")
def online_retail(shared_datasets: Path, tmp_path_factory: pytest.TempPathFactory):
    return run_example("online_retail", shared_datasets, tmp_path_factory.mktemp("online_retail"))


def test_online_retail_runs_through_every_step(online_retail: duckdb.DuckDBPyConnection):
    con = online_retail
    customers = con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    assert customers == 4372  # the dataset's distinct CustomerIDs (float ids read as integers)
    as_of = con.execute("select max(as_of_date)::varchar from analytics.customer_rfm").fetchone()[0]
    assert as_of == "2011-12-09"
    fits = dict(
        con.execute(
            "select model, status from analytics.clv_model_runs where stage = 'final'"
        ).fetchall()
    )
    assert fits == {"bgnbd": "ok", "gamma_gamma": "ok"}
    segments = con.execute(
        "select count(distinct rfm_segment) from analytics.customer_rfm"
    ).fetchone()[0]
    assert segments >= 8
    stages = {
        s
        for (s,) in con.execute(
            "select distinct lifecycle_stage from analytics.customer_lifecycle"
        ).fetchall()
    }
    assert {"active", "lost", "new"} <= stages


def test_an_event_log_without_amounts_gets_a_clv_without_a_spend_model(
    shared_datasets: Path, tmp_path: Path
):
    con = run_example("grocery", shared_datasets, tmp_path)
    fits = dict(
        con.execute(
            "select model, status from analytics.clv_model_runs where stage = 'final'"
        ).fetchall()
    )
    assert fits["bgnbd"] == "ok"
    assert fits["gamma_gamma"] == "no_spend_data"
    people, valued = con.execute(
        "select count(*), count(predicted_clv) from analytics.customer_clv"
    ).fetchone()
    assert people == 1525 and valued == 0
    assert con.execute(
        "select count(*) from analytics.customer_rfm where rfm_segment is null"
    ).fetchone() == (0,)
