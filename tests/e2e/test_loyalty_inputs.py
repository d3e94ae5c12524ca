"""What users feed `loyalty run`: dirty files, their own flat sales file, the smallest config,
mistakes. Every row is loaded or quarantined; every mistake is a one-line error."""

from __future__ import annotations

import os
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from loyalty_project import (
    LOYALTY,
    START,
    Project,
    generated_project,
    loyalty,
    records_in_file,
    write_config,
)

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=8)


@pytest.fixture(scope="module")
def dirty(tmp_path_factory: pytest.TempPathFactory) -> Project:
    return generated_project(tmp_path_factory.mktemp("dirty"), "--dirty-rate", "0.05")


# --- dirty data: nothing lost --------------------------------------------------------------------


def test_dirty_data_every_row_is_loaded_or_quarantined(dirty: Project):
    assert dirty.run.returncode == 0, dirty.run.stderr[-3000:]
    with dirty.connect() as con:
        log = con.execute(
            "select source_file, sum(rows_read), sum(rows_loaded), sum(rows_quarantined) "
            "from ops.ingest_log group by 1"
        ).fetchall()
        reasons = dict(
            con.execute(
                "select reason_code, count(*) from (select reason_code from quarantine.pos_tickets "
                "union all select reason_code from quarantine.pos_members "
                "union all select reason_code from quarantine.shopify_orders) group by 1"
            ).fetchall()
        )
    files = {p.relative_to(dirty.landing).as_posix(): p for p in dirty.landing.rglob("date=*/*.*")}
    assert {name for name, *_ in log} == set(files)
    for name, read, loaded, quarantined in log:
        assert read == loaded + quarantined, name
        assert read == records_in_file(files[name]), name
    assert sum(q for *_, q in log) > 0
    assert {"bad_type", "duplicate_row", "missing_required"} <= set(reasons)


# --- the generic source ---------------------------------------------------------------------------


def test_a_flat_sales_file_with_its_own_columns_flows_to_the_marts(tmp_path: Path):
    sales = tmp_path / "landing" / "sales"
    sales.mkdir(parents=True)
    (sales / "ventas.csv").write_text(
        "Cliente;Pedido;Fecha;Importe;Tienda\n"
        "17850.0;A1;05/01/2025 10:15;12,50;\n"  # decimal comma: quarantined as bad_type
        "17850.0;A2;05/01/2025 11:00;20.00;T1\n"
        "17850;A3;07/02/2025 09:30;-5.00;T1\n"
        "13047;B1;06/01/2025 18:00;31.45;T2\n"
        ";C1;08/01/2025 12:00;9.99;T2\n",
        encoding="utf-8",
    )
    config = write_config(
        tmp_path,
        "sources:\n  transactions:\n    path: sales/*.csv\n"
        "    columns: {customer_id: Cliente, order_id: Pedido, ordered_at: Fecha, amount: Importe,"
        " store_id: Tienda}\n    timestamp_format: '%d/%m/%Y %H:%M'\n",
    )
    run = loyalty("run", "--config", str(config))
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Running 2025-01-05 .. 2025-02-07" in run.stderr
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    transactions = con.execute(
        "select transaction_id, net_amount, customer_key is null from marts.fct_transactions order by 1"
    ).fetchall()
    assert [(t, Decimal(n), anonymous) for t, n, anonymous in transactions] == [
        ("generic:A2", Decimal("20.00"), False),
        ("generic:A3", Decimal("-5.00"), False),
        ("generic:B1", Decimal("31.45"), False),
        ("generic:C1", Decimal("9.99"), True),
    ]
    # 17850.0 and 17850 are one customer; the anonymous sale counts in revenue only.
    assert con.execute("select count(*) from marts.dim_customers").fetchone() == (2,)
    assert con.execute(
        "select reason_code, source_line from quarantine.transactions"
    ).fetchall() == [("bad_type", 2)]


def test_the_minimal_config_of_the_design_works_as_it_stands(
    tmp_path: Path, minimal_config_text: str
):
    (tmp_path / "loyalty.yml").write_text(minimal_config_text, encoding="utf-8")
    sales = tmp_path / "landing" / "sales"
    sales.mkdir(parents=True)
    (sales / "2025-03.csv").write_text(
        "InvoiceNo,InvoiceDate,CustomerID,Total\n"
        "1001,2025-03-03 10:00:00,C1,10.10\n1001,2025-03-03 10:00:00,C1,5.05\n"
        "1002,2025-03-04 12:30:00,C2,7.00\n1003,2025-03-09 09:00:00,C1,2.25\n",
        encoding="utf-8",
    )
    run = loyalty("run", cwd=tmp_path)  # ./loyalty.yml, every day delivered
    assert run.returncode == 0, run.stderr[-3000:]
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    assert con.execute(
        "select count(*), sum(net_amount) from marts.fct_transactions"
    ).fetchone() == (
        3,
        Decimal("24.40"),
    )
    assert con.execute(
        "select orders_count from marts.dim_customers order by orders_count"
    ).fetchall() == [(1,), (2,)]


# --- errors a user can make -----------------------------------------------------------------------


def test_bad_dates_and_bad_config_are_one_line_errors(tmp_path: Path):
    config = write_config(tmp_path)
    bad_date = loyalty("run", "--config", str(config), "--date", "2025-13-01")
    assert (
        bad_date.returncode == 2
        and "'2025-13-01' is not a date in the form YYYY-MM-DD" in bad_date.stderr
    )
    reversed_range = loyalty(
        "run", "--config", str(config), "--start", "2025-03-02", "--end", "2025-03-01"
    )
    assert reversed_range.returncode == 1 and "is after --end" in reversed_range.stderr
    config.write_text(config.read_text() + "colour: blue\n", encoding="utf-8")
    unknown = loyalty("run", "--config", str(config))
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == f"loyalty: {config}: colour: unknown key"


def test_a_file_missing_a_required_column_stops_the_run_naming_the_file(tmp_path: Path):
    folder = tmp_path / "landing" / "pos" / "tickets" / "date=2025-01-02"
    folder.mkdir(parents=True)
    (folder / "tickets.csv").write_text("ticket_id,line_number\nT1,1\n", encoding="utf-8")
    run = loyalty("run", "--config", str(write_config(tmp_path)))
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("loyalty: run 2025-01-02..2025-01-02 failed: step raw__pos_tickets:")
    assert "pos/tickets/date=2025-01-02/tickets.csv: missing required columns" in last


def test_outside_demo_mode_a_run_refuses_the_documented_demo_key(tmp_path: Path):
    from dagster_project.lib.privacy import DEMO_KEY

    config = write_config(tmp_path)
    (tmp_path / "landing").mkdir()
    for key in (None, DEMO_KEY):
        env = {k: v for k, v in os.environ.items() if k != "LOYALTY_PSEUDONYM_KEY"}
        if key:
            env["LOYALTY_PSEUDONYM_KEY"] = key
        refused = subprocess.run(
            [LOYALTY, "run", "--config", str(config), "--date", START],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        assert refused.returncode == 2
        (line,) = refused.stderr.strip().splitlines()
        assert line.startswith("loyalty: LOYALTY_PSEUDONYM_KEY is not set (or holds the documented")
        assert f"set privacy: {{demo: true}} in {config}" in line
    # Declared synthetic, the same run goes ahead with the demo key, and says so (the landing
    # folder is empty, so the run is told that an empty day is expected).
    config.write_text(config.read_text() + "privacy: {demo: true}\n", encoding="utf-8")
    allowed = subprocess.run(
        [LOYALTY, "run", "--config", str(config), "--date", START, "--allow-empty"],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    assert allowed.returncode == 0, allowed.stderr[-2000:]
    assert "warning: LOYALTY_PSEUDONYM_KEY is not set" in allowed.stderr


def test_a_run_in_which_no_source_delivers_says_where_it_looked_and_fails(tmp_path: Path):
    config = write_config(
        tmp_path,
        "sources:\n  transactions:\n    path: sales/*.csv\n"
        "    columns: {customer_id: C, order_id: O, ordered_at: T, amount: A}\n",
    )
    (tmp_path / "landing" / "pos" / "tickets" / "date=2025-01-02").mkdir(parents=True)
    run = loyalty("run", "--config", str(config), "--start", "2025-03-01", "--end", "2025-03-02")
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    notes = [line for line in run.stderr.splitlines() if line.startswith("note: ")]
    landing = (tmp_path / "landing").resolve()
    assert notes == [
        "note: sources.pos_tickets delivered no row for 2025-03-01..2025-03-02: no day folder "
        f"(date=YYYY-MM-DD) in that range under {landing / 'pos' / 'tickets'}; "
        "it holds 2025-01-02..2025-01-02",
        "note: sources.transactions delivered no row for 2025-03-01..2025-03-02: no file matches "
        f"(path 'sales/*.csv', relative to landing_dir {landing})",
    ]
    assert run.stderr.strip().splitlines()[-1] == (
        "loyalty: run 2025-03-01..2025-03-02 failed: no source delivered any row, "
        "so there was nothing to load (--allow-empty computes the days from what is loaded)"
    )
    # Nothing was built from nothing: the run was refused before it started.
    assert not (tmp_path / "warehouse.duckdb").exists()
