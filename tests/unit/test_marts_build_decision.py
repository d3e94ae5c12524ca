"""When the nightly marts build may be incremental (lib/incremental_marts.py)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from dagster_project.lib.incremental_marts import (
    begin_marts_build,
    fingerprint,
    finish_marts_build,
)
from dagster_project.lib.warehouse import ensure_warehouse_tables

VARS = {"margins": {"vat_rates": {}, "category_margins": {}}, "sensitive_categories": []}


@pytest.fixture
def con() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    ensure_warehouse_tables(con)
    return con


def write_manifest(path: Path, model_checksum: str = "a1", macro_sql: str = "select 1") -> Path:
    path.write_text(
        json.dumps(
            {
                "metadata": {"project_name": "loyalty"},
                "nodes": {
                    "model.loyalty.fct_transactions": {
                        "resource_type": "model",
                        "checksum": {"name": "sha256", "checksum": model_checksum},
                    },
                    "test.loyalty.unique_x": {
                        "resource_type": "test",
                        "checksum": {"name": "sha256", "checksum": "whatever"},
                    },
                },
                "macros": {
                    "macro.loyalty.to_money": {"package_name": "loyalty", "macro_sql": macro_sql},
                    "macro.dbt.concat": {"package_name": "dbt", "macro_sql": "concat"},
                },
            }
        ),
        encoding="utf-8",
    )
    return path


def deliver_product(
    con: duckdb.DuckDBPyConnection, day: str, unit_cost: str = "1.20", list_price: str = "2.50"
) -> None:
    con.execute(
        "insert into raw.catalog_products by name select ? as partition_date, "
        "'catalog/products/' || ? || '/products.csv' as source_file, 2 as source_line, "
        "'P001' as sku, 'Crema' as product_name, 'Cosmetics' as category, 21 as vat_rate, "
        "cast(? as decimal(18, 2)) as unit_cost, cast(? as decimal(18, 2)) as list_price, "
        "false as is_prescription",
        [day, day, unit_cost, list_price],
    )


def test_fingerprint_follows_code_settings_and_catalogue_values(con, tmp_path: Path):
    manifest = write_manifest(tmp_path / "manifest.json")
    deliver_product(con, "2025-03-01")
    first = fingerprint(con, manifest, VARS)

    # The same values delivered again (another day, another file), or a price the lines do
    # not use, or a test or another package's macro: nothing the transactions depend on.
    deliver_product(con, "2025-04-01", list_price="2.99")
    other_package = json.loads(manifest.read_text())
    other_package["nodes"]["test.loyalty.unique_x"]["checksum"]["checksum"] = "changed"
    other_package["macros"]["macro.dbt.concat"]["macro_sql"] = "concat2"
    manifest.write_text(json.dumps(other_package))
    assert fingerprint(con, manifest, VARS) == first

    assert (
        fingerprint(con, write_manifest(tmp_path / "m2.json", model_checksum="b2"), VARS) != first
    )
    assert (
        fingerprint(con, write_manifest(tmp_path / "m3.json", macro_sql="select 2"), VARS) != first
    )
    assert fingerprint(con, manifest, {**VARS, "sensitive_categories": ["Sexual health"]}) != first
    deliver_product(con, "2025-05-01", unit_cost="1.30")
    assert fingerprint(con, manifest, VARS) != first


def test_a_build_is_whole_unless_the_last_one_finished_with_the_same_fingerprint(con):
    first = begin_marts_build(con, "f1")
    assert first.whole_because == "first build"
    finish_marts_build_table(con)
    finish_marts_build(con, first)

    nightly = begin_marts_build(con, "f1")
    assert nightly.whole_because is None
    # Not finished (dbt failed halfway): the next one is whole.
    after_failure = begin_marts_build(con, "f1")
    assert after_failure.whole_because == "the last marts build did not finish"
    finish_marts_build(con, after_failure)

    finish_marts_build(con, nightly)
    switched_off = begin_marts_build(con, "f1", incremental=False)
    assert switched_off.whole_because == "warehouse.incremental_marts is off"
    finish_marts_build(con, switched_off)

    upgraded = begin_marts_build(con, "f2")
    assert upgraded.whole_because == ("the models, the settings or the catalogue's values changed")
    recorded = con.execute(
        "select whole_because from ops.marts_builds order by started_at"
    ).fetchall()
    assert [why for (why,) in recorded] == [
        "first build",
        None,
        "the last marts build did not finish",
        "warehouse.incremental_marts is off",
        upgraded.whole_because,
    ]


def test_a_build_is_whole_when_most_deliveries_were_loaded_again(con):
    def load(day: str, loaded_at: str) -> None:
        con.execute(
            "insert into ops.ingest_log (source, partition_date, source_file, loaded_at) "
            "values ('pos_tickets', ?, ?, ?)",
            [day, f"{day}.csv", loaded_at],
        )

    for day in ("2025-03-01", "2025-03-02", "2025-03-03"):
        load(day, f"{day} 23:00:00")
    finish_marts_build_table(con)
    finish_marts_build(con, begin_marts_build(con, "f1"))
    load("2025-03-04", "2025-03-04 23:00:00")
    one_night = begin_marts_build(con, "f1")
    assert one_night.whole_because is None
    finish_marts_build(con, one_night)
    # The range run again: every day's delivery is loaded anew.
    con.execute("update ops.ingest_log set loaded_at = timestamp '2025-03-10 01:00:00'")
    again = begin_marts_build(con, "f1")
    assert again.whole_because == "most deliveries were loaded again (4 of 4)"


def test_a_build_covers_the_deliveries_after_the_last_completed_build(con):
    con.execute(
        "insert into ops.ingest_log (source, partition_date, source_file, loaded_at) values "
        "('pos_tickets', '2025-03-01', 'a.csv', '2025-03-02 01:00:00'), "
        "('pos_tickets', '2025-03-02', 'b.csv', '2025-03-03 01:00:00')"
    )
    finish_marts_build_table(con)
    finish_marts_build(con, begin_marts_build(con, "f1"))
    con.execute(
        "insert into ops.ingest_log (source, partition_date, source_file, loaded_at) values "
        "('pos_tickets', '2025-03-03', 'c.csv', '2025-03-04 01:00:00')"
    )
    unfinished = begin_marts_build(con, "f1")
    retried = begin_marts_build(con, "f1")
    covered = con.execute(
        "select started_at, ingest_loaded_after, ingest_loaded_through from ops.marts_builds "
        "order by started_at"
    ).fetchall()
    as_text = [(after and str(after), str(through)) for _, after, through in covered]
    # The first build has nothing before it; the next ones read what came after the last
    # completed build, an unfinished build in between included.
    assert as_text == [
        (None, "2025-03-03 01:00:00"),
        ("2025-03-03 01:00:00", "2025-03-04 01:00:00"),
        ("2025-03-03 01:00:00", "2025-03-04 01:00:00"),
    ]
    assert [b.started_at for b in (unfinished, retried)] == [row[0] for row in covered[1:]]


def finish_marts_build_table(con: duckdb.DuckDBPyConnection) -> None:
    """What dbt's first build leaves: the incremental model and the changes it read."""
    con.execute("create table intermediate.int_transaction_lines_unioned (transaction_id varchar)")
    con.execute("create table intermediate.int_transactions_changed (transaction_id varchar)")
