"""A raw batch that breaks an `error` expectation stops `loyalty run` before the marts, with one
line naming the source, the day, the expectation and the count; what was built before stays,
the exports included.

The fault is one a real feed sends: a Shopify customer whose email-consent state is not one of
Shopify's (it decides who may be contacted, so nothing downstream may run on it). The loader has
no rule against it, so only the suite `expectations/shopify_customers.json` can catch it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, END = "2025-03-01", "2025-03-31"


def loyalty(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )


def downstream_tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        names = con.execute(
            "select table_schema || '.' || table_name from information_schema.tables "
            "where table_schema in ('marts', 'analytics') and table_type = 'BASE TABLE' "
            "and table_name <> 'clv_model_runs' order by 1"
        ).fetchall()
        return {n: con.execute(f"select * from {n} order by all").fetchall() for (n,) in names}


def set_consent_state(customers_file: Path, state: str) -> int:
    """Give the file's first customer `state`; returns that customer's line number."""
    lines = customers_file.read_text(encoding="utf-8").splitlines()
    customer = json.loads(lines[0])
    customer["email_marketing_consent"]["state"] = state
    lines[0] = json.dumps(customer, ensure_ascii=False)
    customers_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 1


def test_an_error_expectation_blocks_the_marts_and_names_source_day_expectation(tmp_path: Path):
    landing = tmp_path / "landing"
    made = loyalty(
        "generate", "--out", str(landing), "--customers", "150", "--start", START, "--end", END
    )
    assert made.returncode == 0, made.stderr
    config = tmp_path / "loyalty.yml"
    config.write_text(
        f"start_date: {START}\nlanding_dir: landing\nwarehouse: {{path: warehouse.duckdb}}\n"
        "exports: {tools: [mailchimp], segments: {buyers: {where: 'frequency >= 0'}}}\n",
        encoding="utf-8",
    )
    first = loyalty("run", "--config", str(config), "--start", START, "--end", "2025-03-30")
    assert first.returncode == 0, first.stderr[-3000:]
    before = downstream_tables(tmp_path / "warehouse.duckdb")
    assert before["marts.dim_customers"]
    exports = tmp_path / "exports" / "mailchimp" / "buyers"
    exported = {p.relative_to(exports): p.read_bytes() for p in exports.rglob("*") if p.is_file()}
    assert (exports / "latest").resolve().name == "2025-03-30"

    day = END
    (customers_file,) = sorted((landing / "ecommerce" / "customers" / f"date={day}").glob("*"))
    original = customers_file.read_text(encoding="utf-8")
    set_consent_state(customers_file, "opted_in")
    blocked = loyalty("run", "--config", str(config), "--date", day)

    assert blocked.returncode == 1
    last_line = blocked.stderr.strip().splitlines()[-1]
    assert last_line == (
        f"loyalty: run {day}..{day} failed: check gx_suite failed: raw/shopify_customers {day}: "
        "expect_column_values_to_be_in_set(email_marketing_consent_state) [error]: 1 unexpected"
    )
    assert "Traceback" not in blocked.stderr
    # The raw batch is loaded (it can be read and corrected); nothing downstream was rebuilt.
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        states = con.execute(
            "select email_marketing_consent_state from raw.shopify_customers "
            "where partition_date = ? and email_marketing_consent_state = 'opted_in'",
            [day],
        ).fetchall()
    assert states == [("opted_in",)]
    assert downstream_tables(tmp_path / "warehouse.duckdb") == before
    # The exports of the day are not written; the previous ones stay, byte for byte.
    assert not (exports / day).exists()
    assert (exports / "latest").resolve().name == "2025-03-30"
    assert {
        p.relative_to(exports): p.read_bytes() for p in exports.rglob("*") if p.is_file()
    } == exported

    customers_file.write_text(original, encoding="utf-8")
    fixed = loyalty("run", "--config", str(config), "--date", day)
    assert fixed.returncode == 0, fixed.stderr[-3000:]
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        as_of = con.execute("select max(as_of_date)::varchar from analytics.kpi_daily").fetchone()
    assert as_of == (day,)
    assert (exports / "latest").resolve().name == day


def test_a_warn_expectation_is_shown_and_the_run_goes_on(tmp_path: Path):
    """A ticket for a SKU the catalogue does not know yet is a warning, printed as one line."""
    landing = tmp_path / "landing"
    made = loyalty(
        "generate", "--out", str(landing), "--customers", "60", "--start", END, "--end", END
    )
    assert made.returncode == 0, made.stderr
    (tickets,) = sorted((landing / "pos" / "tickets" / f"date={END}").glob("*.csv"))
    header, first, *rest = tickets.read_text(encoding="utf-8").splitlines()
    columns = header.split(",")
    values = first.split(",")
    values[columns.index("sku")] = "NEW-SKU-1"
    tickets.write_text("\n".join([header, ",".join(values), *rest]) + "\n", encoding="utf-8")
    config = tmp_path / "loyalty.yml"
    config.write_text(
        f"start_date: {END}\nlanding_dir: landing\nwarehouse: {{path: warehouse.duckdb}}\n",
        encoding="utf-8",
    )
    run = loyalty("run", "--config", str(config), "--date", END)
    assert run.returncode == 0, run.stderr[-3000:]
    warnings = [line.strip() for line in run.stderr.splitlines() if line.strip().startswith("!")]
    ticket_warnings = [w for w in warnings if w.startswith("! raw/pos_tickets")]
    assert ticket_warnings == [
        f"! raw/pos_tickets {END}: expect_column_values_to_be_in_set(sku) [warn]: 1 unexpected"
    ]
    # One day of history cannot support a CLV model: the fallback is a warning too, not a stop.
    assert any(w.startswith(f"! analytics/clv_model_runs {END}:") for w in warnings)
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        lines = con.execute(
            "select count(*) from marts.fct_transaction_lines where sku = 'NEW-SKU-1'"
        ).fetchone()
    assert lines == (1,)
