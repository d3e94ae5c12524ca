"""A warehouse made by an older version gets the columns a newer one defines: a derived column
filled for the rows already loaded, as ingest would have computed it
(lib/sources/load.add_missing_derived_columns); a delivered one, and one of a table Python
writes, empty in the rows there (lib/warehouse.ensure_warehouse_tables)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.contacts import normalize_email, phone_e164
from dagster_project.lib.privacy import keyed_hash
from dagster_project.lib.sources.load import IngestContext, add_missing_derived_columns
from dagster_project.lib.sources.specs import ALL_RAW_TABLES, POS_MEMBERS
from dagster_project.lib.tables import CAMPAIGN_RESULTS
from dagster_project.lib.warehouse import ensure_warehouse_tables, replace_rows

KEY = "upgrade-key"


def test_key_columns_are_added_and_filled_for_rows_loaded_before(tmp_path: Path):
    con = duckdb.connect(":memory:")
    ensure_warehouse_tables(con)
    # raw.pos_members as an older version made it: no contact keys yet.
    con.execute("alter table raw.pos_members drop column email_key")
    con.execute("alter table raw.pos_members drop column phone_key")
    con.execute(
        "insert into raw.pos_members (card_id, email, phone) values "
        "('1001', ' Ana@Example.com', '600 00 00 01'), ('1002', 'not an address', null)"
    )
    ctx = IngestContext(landing_dir=tmp_path, pseudonym_key=KEY)
    added = add_missing_derived_columns(con, ALL_RAW_TABLES, ctx)
    assert added == ["pos_members.email_key", "pos_members.phone_key"]
    rows = con.execute(
        "select card_id, email_key, phone_key from raw.pos_members order by card_id"
    ).fetchall()
    assert rows == [
        (
            "1001",
            keyed_hash(normalize_email(" Ana@Example.com"), KEY, "email"),
            keyed_hash(phone_e164("600 00 00 01", "ES"), KEY, "phone"),
        ),
        ("1002", None, None),
    ]
    # The table now has every column of the registry, and a second call adds nothing.
    columns = [
        c for (c,) in con.execute("select column_name from (describe raw.pos_members)").fetchall()
    ]
    assert sorted(columns) == sorted(name for name, _ in POS_MEMBERS.raw_columns())
    assert add_missing_derived_columns(con, ALL_RAW_TABLES, ctx) == []


def test_a_delivered_column_and_a_python_tables_column_are_added_by_an_upgrade():
    """An older warehouse: the catalogue without unit costs, campaign results without one of
    their columns. Opening it with this version adds both (null in the rows there), and a day's
    rows are written by column name, whatever order the older table has them in."""
    con = duckdb.connect(":memory:")
    ensure_warehouse_tables(con)
    con.execute("alter table raw.catalog_products drop column unit_cost")
    con.execute("insert into raw.catalog_products (sku, category) values ('P1', 'Óptica')")
    con.execute("alter table analytics.campaign_results drop column treated")
    ensure_warehouse_tables(con)
    assert con.execute("select sku, unit_cost from raw.catalog_products").fetchall() == [
        ("P1", None)
    ]
    frame = pd.DataFrame(
        [{"as_of_date": date(2025, 3, 1), "campaign": "vip", "treated": 90, "control": 10}]
    )
    replace_rows(con, CAMPAIGN_RESULTS, frame, {"as_of_date": date(2025, 3, 1)})
    assert con.execute("select treated, control from analytics.campaign_results").fetchall() == [
        (90, 10)
    ]
