"""BI reads the published copy while a run writes the warehouse: never blocked, never broken, and
the run is not blocked by a dashboard holding the copy open."""

from __future__ import annotations

import os
import stat
import struct
import subprocess
import sys
import time
from pathlib import Path

import duckdb

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, FIRST_END, DAY = "2025-03-01", "2025-03-13", "2025-03-14"


def test_the_published_copy_is_readable_throughout_a_run_and_replaced_after_it(tmp_path: Path):
    made = subprocess.run(
        [LOYALTY, "generate", "--out", str(tmp_path / "landing"), "--customers", "150",
         "--start", START, "--end", DAY],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    config = tmp_path / "loyalty.yml"
    config.write_text(
        f"start_date: {START}\nlanding_dir: landing\nwarehouse: {{path: warehouse.duckdb}}\n"
        "publish_dir: publish\n",
        encoding="utf-8",
    )
    first = subprocess.run(
        [LOYALTY, "run", "--config", str(config), "--start", START, "--end", FIRST_END],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr[-3000:]
    published = tmp_path / "publish" / "warehouse.duckdb"
    assert stat.S_IMODE(published.stat().st_mode) == 0o444
    # DuckDB 1.0's storage format (version number 64 in the file header), which the older DuckDB
    # bundled with BI tools can open; the warehouse itself is in this DuckDB's newer format.
    header = published.read_bytes()[:20]
    assert header[8:12] == b"DUCK" and struct.unpack("<Q", header[12:20])[0] == 64
    # A dashboard keeps the copy open for the whole run.
    dashboard = duckdb.connect(str(published), read_only=True)
    before = dashboard.execute("select count(*) from marts.fct_transactions").fetchone()[0]

    run = subprocess.Popen(
        [LOYALTY, "run", "--config", str(config), "--date", DAY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )  # fmt: skip
    reads, seen = 0, set()
    while run.poll() is None:
        with duckdb.connect(str(published), read_only=True) as reader:
            seen.add(reader.execute("select count(*) from marts.fct_transactions").fetchone()[0])
            reader.execute("select count(*) from analytics.kpi_daily").fetchone()
        parquet = tmp_path / "publish" / "parquet" / "marts" / "fct_transactions.parquet"
        assert duckdb.sql(f"select count(*) from '{parquet}'").fetchall()[0][0] > 0
        assert dashboard.execute("select count(*) from marts.fct_transactions").fetchone() == (
            before,
        )
        reads += 1
        time.sleep(0.2)
    _, stderr = run.communicate()
    assert run.returncode == 0, stderr[-3000:]
    assert reads >= 10
    dashboard.close()

    with duckdb.connect(str(published), read_only=True) as reader:
        after = reader.execute("select count(*) from marts.fct_transactions").fetchone()[0]
        as_of = reader.execute(
            "select max(as_of_date)::varchar from analytics.kpi_daily"
        ).fetchone()
        schemas = {
            s
            for (s,) in reader.execute(
                "select schema_name from information_schema.schemata"
            ).fetchall()
        }
    assert after > before and as_of == (DAY,)
    assert seen <= {before, after}  # every read saw a whole day, the old one or the new one
    assert "pii" not in schemas and "raw" not in schemas
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('marts', 'analytics')"
        ).fetchall()
    for schema, table in tables:
        assert (tmp_path / "publish" / "parquet" / schema / f"{table}.parquet").exists(), table
