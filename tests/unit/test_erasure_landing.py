"""The landing files that still name an erased person are counted by keyed id (lib/erasure/landing.py)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from dagster_project.lib.erasure.landing import landing_files_naming_erased
from dagster_project.lib.warehouse import ensure_warehouse_tables


def test_files_still_on_disk_that_hold_an_erased_persons_rows_are_counted(tmp_path: Path):
    landing = tmp_path / "landing"
    for name in ("pos/members/date=2025-01-01/m.csv", "pos/tickets/date=2025-01-02/t.csv",
                 "ecommerce/orders/date=2025-01-03/o.jsonl"):  # fmt: skip
        (landing / name).parent.mkdir(parents=True, exist_ok=True)
        (landing / name).write_text("x\n", encoding="utf-8")
    con = duckdb.connect(":memory:")
    ensure_warehouse_tables(con)
    con.execute(
        "create table pii.erased_identities as select * from (values "
        "('card', 'ana', 'ana'), ('shopify', 's-ana', 'ana')) "
        "as t(source_system, source_key, customer_key)"
    )
    con.execute(
        "insert into raw.pos_members (source_file, card_key) values "
        "('pos/members/date=2025-01-01/m.csv', 'ana'), ('pos/members/date=2025-01-01/m.csv', 'bea')"
    )
    con.execute(
        "insert into raw.pos_tickets (source_file, card_key) values "
        "('pos/tickets/date=2025-01-02/t.csv', 'bea'), "
        # A file the retailer already purged: no longer counted.
        "('pos/tickets/date=2025-01-09/gone.csv', 'ana')"
    )
    con.execute(
        "insert into raw.shopify_orders (source_file, customer_key) values "
        "('ecommerce/orders/date=2025-01-03/o.jsonl', 's-ana')"
    )
    # Ana's card enrolment and her online order: two files, one person under two keyed ids.
    assert landing_files_naming_erased(con, landing) == (2, 2)


def test_before_the_first_build_nothing_is_counted(tmp_path: Path):
    con = duckdb.connect(":memory:")
    ensure_warehouse_tables(con)
    assert landing_files_naming_erased(con, tmp_path) == (0, 0)
