"""The pipeline as a production team runs it: the Dagster instance of deploy/ on the real
PostgreSQL, a day re-run after a failure part way, and the Dagster UI in a real browser.

The runs here are small (120 customers, two weeks) and shared by the tests of this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import duckdb
import psutil
import pytest
from loyalty_project import ProjectOver, project_over
from prerequisites import require_chromium

from dagster_project.definitions import PIPELINE_JOB
from dagster_project.lib.processes import processes_in_session

REPO = Path(__file__).resolve().parents[2]
LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, END = "2025-03-01", "2025-03-14"
ARTIFACTS = REPO / "test-artifacts"


def loyalty(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args], capture_output=True, text=True, env=env or os.environ.copy(), check=False
    )


def make_project(folder: Path, landing: Path, env: dict[str, str]) -> ProjectOver:
    return project_over(folder, landing, START, env)


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("ops") / "landing"
    made = loyalty(
        "generate", "--out", str(folder), "--customers", "120", "--start", START, "--end", END,
        "--seed", "5",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return folder


@pytest.fixture(scope="module")
def production(tmp_path_factory: pytest.TempPathFactory, landing: Path, postgres_database):
    """A project whose Dagster instance is deploy/dagster.yaml on a database of its own."""
    with postgres_database("loyalty_ops") as database:
        folder = tmp_path_factory.mktemp("production")
        dagster_home = folder / "dagster_home"
        dagster_home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
        env = {
            **os.environ,
            "DAGSTER_HOME": str(dagster_home),
            "DAGSTER_PG_HOST": database.host,
            "DAGSTER_PG_PORT": str(database.port),
            "DAGSTER_PG_USER": database.user,
            "DAGSTER_PG_PASSWORD": "",
            "DAGSTER_PG_DB": database.name,
        }
        project = make_project(folder / "project", landing, env)
        ran = project.run()
        assert ran.returncode == 0, ran.stderr[-3000:]
        yield project, database


def test_a_run_goes_through_the_production_instance_on_postgresql(production):
    project, database = production
    runs = database.query("select pipeline_name, status from runs order by create_timestamp")
    # The days before the last loaded in one run, then the last day's run as the schedule starts it.
    assert runs == [(PIPELINE_JOB, "SUCCESS"), (PIPELINE_JOB, "SUCCESS")]
    materialized_days = database.query(
        "select distinct partition from event_logs "
        "where dagster_event_type = 'ASSET_MATERIALIZATION' and asset_key = %s order by 1",
        ['["raw", "pos_tickets"]'],
    )
    assert [day for (day,) in materialized_days] == [f"2025-03-{d:02d}" for d in range(1, 15)]
    # Nothing went to the local SQLite storage a default instance would use.
    assert not list(project.dagster_home.rglob("*.db"))

    previous = os.environ.copy()
    os.environ.update(project.env)
    try:
        with dg.DagsterInstance.get() as instance:
            assert type(instance.run_storage).__name__ == "PostgresRunStorage"
            assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
            assert instance.run_retries_enabled and instance.run_retries_max_retries == 2
            # A bad file or a blocking check is not retried: only a dead run worker is.
            assert not instance.run_retries_retry_on_asset_or_op_failure
            concurrency = instance.get_concurrency_config()
            assert concurrency.pool_config.default_pool_limit == 1
            assert not instance.telemetry_enabled
    finally:
        os.environ.clear()
        os.environ.update(previous)


def test_a_day_that_failed_after_the_marts_reruns_to_what_a_clean_run_gives(
    tmp_path: Path, landing: Path, production
):
    clean, _ = production
    project = make_project(
        tmp_path / "project", landing, {**os.environ, "DAGSTER_HOME": str(tmp_path / "dh")}
    )
    # The exports folder cannot be made (a file is in its way): the run fails after the marts
    # and the analytics, at the segment files.
    blocker = project.folder / "exports"
    blocker.write_text("not a folder", encoding="utf-8")
    failed = project.run()
    assert failed.returncode == 1
    assert "exports" in failed.stderr.splitlines()[-1]
    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from marts.fct_transactions").fetchone()[0] > 0
        assert con.execute("select count(*) from ops.export_log").fetchone()[0] == 0

    blocker.unlink()
    again = project.run("--start", START, "--end", END)
    assert again.returncode == 0, again.stderr[-3000:]
    assert project.tables() == clean.tables()
    assert project.exports() == clean.exports()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_serving(url: str, process: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "loyalty ui exited before serving"
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(1)
    raise AssertionError(f"nothing served at {url} after {timeout}s")


def test_the_ui_shows_the_pipeline_groups_a_loaded_partition_and_the_marts_freshness(
    production, tmp_path: Path
):
    chromium = require_chromium()
    from playwright.sync_api import sync_playwright

    project, _ = production
    port = free_port()
    # A session of its own, so Ctrl-C can be sent to the whole group as a terminal does. Its
    # output goes to a file: dagster dev logs steadily, and a pipe nobody reads fills and blocks.
    output = tmp_path / "ui.err"
    with output.open("w") as err:
        ui = subprocess.Popen(
            [LOYALTY, "ui", "--config", str(project.config), "--port", str(port)],
            env=project.env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    ARTIFACTS.mkdir(exist_ok=True)
    dagster_dev = -1  # its session, once known
    try:
        wait_until_serving(f"{base}/server_info", ui)
        # `dagster dev` runs in a session of its own, with its webserver, daemon and code servers.
        (dagster_dev,) = [child.pid for child in psutil.Process(ui.pid).children()]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=str(chromium), args=["--headless", "--no-sandbox"]
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            # Dagster invites a first visitor on localhost to its community in a dialog that
            # covers the page; this is what declining it leaves in the browser.
            page.add_init_script("window.localStorage.setItem('communityNux', '\"1\"')")
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

            page.goto(f"{base}/asset-groups", wait_until="networkidle")
            skip_welcome(page)
            for group in ("ingest", "staging", "marts", "pii", "analytics", "exports", "publish"):
                page.get_by_text(group, exact=True).first.wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "ui_asset_groups.png"))

            page.goto(f"{base}/assets/raw/pos_tickets?view=partitions", wait_until="networkidle")
            page.get_by_text("Materialized (14)").first.wait_for(timeout=30_000)
            page.get_by_placeholder("Filter by name").fill(END)
            page.get_by_text(END, exact=True).first.click()
            # The day's page: materialised by the day's run, with what it loaded.
            page.get_by_text(PIPELINE_JOB, exact=True).first.wait_for(timeout=30_000)
            page.get_by_text("rows_loaded", exact=True).first.wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "ui_pos_tickets_partitions.png"))

            page.goto(f"{base}/assets/marts/fct_transactions", wait_until="networkidle")
            page.get_by_text("Freshness policy").first.wait_for(timeout=30_000)
            page.screenshot(path=str(ARTIFACTS / "ui_fct_transactions.png"))
            browser.close()
        assert errors == []
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGINT)
        try:
            ui.wait(timeout=60)
        except subprocess.TimeoutExpired:
            kill_sessions(ui.pid, dagster_dev)  # never leave them running behind the test
            raise AssertionError("loyalty ui did not stop within 60s of Ctrl-C") from None
    stderr = output.read_text()
    assert stderr.splitlines()[0] == f"Dagster UI on {base} (Ctrl-C to stop)"
    assert "Traceback" not in stderr
    assert ui.returncode == 0
    assert "Dagster UI stopped." in stderr
    assert group_ends(ui.pid), "processes of loyalty ui outlived it"
    assert session_ends(dagster_dev), "processes of dagster dev outlived loyalty ui"


def skip_welcome(page) -> None:
    """Dagster's first-visit invitation to its community covers the page; decline it."""
    skip = page.get_by_role("button", name="Skip")
    if skip.count():
        skip.click()


def kill_sessions(*sessions: int) -> None:
    for process in [p for session in sessions for p in processes_in_session(session)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()


def session_ends(session: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not processes_in_session(session):
            return True
        time.sleep(0.5)
    return False


def group_ends(group: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.5)
    return False
