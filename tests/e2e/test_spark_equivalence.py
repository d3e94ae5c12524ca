"""`loyalty run` on Spark gives the rows it gives on DuckDB.

A small generated pharmacy chain is run through the whole pipeline twice, by the `loyalty`
command, from the same landing files with the same pseudonym key: once with the embedded
warehouse (`engine: duckdb`) and once with `engine: spark` (ingest on DuckDB, the raw days handed
to a local Spark, dbt in the run's process on dbt-spark's session method, the CLV fitted on the
compressed summary and scored batch by batch on Spark, what Spark built copied back into the
DuckDB file for the checks, exports, BI copy and report). Each project runs two overlapping
ranges, as nightly runs would (the second hands over only the days loaded since the first).

Every table and view dbt and the CLV build after staging (intermediate, marts, pii, analytics)
must hold the same rows on Spark as on DuckDB: money to the cent, shares and probabilities to
1e-9; the copy in the Spark project's DuckDB file, the campaign tables the exports write there,
and the segment files must equal the DuckDB project's.

Spark takes about a second a query however small the data, so the data are small and each
engine runs once for the whole module.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from loyalty_project import loyalty
from prerequisites import unavailable

from dagster_project.lib.spark.serving import spark_tables
from dagster_project.lib.spark.session import spark_session, spark_unavailable, stop_spark
from dagster_project.lib.synthetic import generate
from dagster_project.lib.tables import PYTHON_TABLES

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=14)

START, END = date(2024, 7, 1), date(2025, 3, 31)
# The first run ends here; the second starts ten days earlier (days loaded and handed over again).
EARLIER = date(2025, 2, 14)
# Few customers keep Spark quick; small profile groups still give segment_profiles rows to compare.
CUSTOMERS = 120
PROFILE_MIN_GROUP_SIZE = 3
# A few thousand rows: one shuffle partition instead of 200 saves most of Spark's time.
SPARK_CONF = {"spark.sql.shuffle.partitions": "1", "spark.driver.memory": "1g"}

# Segment files for every tool, each day's members and results written into the DuckDB file.
EXPORTS = """\
exports:
  tools: [mailchimp, klaviyo, brevo, hubspot, generic]
  segments:
    buyers: {where: "frequency >= 0"}
    champions: {rfm_segment: [Champions, Loyal]}
    win_back: {lifecycle_stage: [at_risk, lapsed, lost]}
"""

# The schemas compared: everything dbt builds after staging (views over raw, feeding these).
COMPARED_SCHEMAS = ("intermediate", "marts", "pii", "analytics")
# Copied back into the DuckDB file by a Spark project (intermediate stays on Spark).
SERVED_SCHEMAS = ("marts", "pii", "analytics")
# Written by the exports into the DuckDB file (on either engine): compared there.
NOT_BUILT = {t.name for t in PYTHON_TABLES if t.schema == "analytics" and not t.read_by_dbt}
# What a nightly DuckDB build computed again (the transactions its incremental models replaced);
# Spark rebuilds those models whole, and the list is empty there by design.
BUILD_BOOKKEEPING = {"int_transactions_changed"}
# Columns that differ by nature: how long a fit took.
NOT_COMPARED = {("clv_model_runs", "seconds")}

FLOAT_TOLERANCE = 1e-9


# --- the two projects ----------------------------------------------------------------------------


def require_spark() -> None:
    """Skip without Java or the spark extra, with the reason; in CI both are installed, so fail."""
    reason = spark_unavailable()
    if reason is not None:
        unavailable(reason)


def write_project(folder: Path, landing: Path, engine: str) -> Path:
    folder.mkdir(parents=True)
    spark_conf = ", ".join(f"{key}: {value!r}" for key, value in SPARK_CONF.items())
    config = folder / "loyalty.yml"
    config.write_text(
        f"timezone: Europe/Madrid\nstart_date: {START}\nlanding_dir: {landing}\n"
        f"warehouse: {{path: warehouse.duckdb, engine: {engine}, spark: {{conf: {{{spark_conf}}}}}}}\n"
        f"segmentation: {{profile_min_group_size: {PROFILE_MIN_GROUP_SIZE}}}\n{EXPORTS}",
        encoding="utf-8",
    )
    return config


def run_twice(config: Path) -> None:
    """Two nightly-like runs over overlapping ranges; each must succeed."""
    for start, end in ((START, EARLIER), (EARLIER - timedelta(days=10), END)):
        run = loyalty("run", "--config", str(config), "--start", str(start), "--end", str(end))
        assert run.returncode == 0, f"{config.parent.name} {start}..{end}:\n{run.stderr[-4000:]}"


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("spark_equivalence") / "landing"
    generate(folder, customers=CUSTOMERS, start=START, end=END, seed=31)
    return folder


@pytest.fixture(scope="module")
def duckdb_project(landing: Path) -> Path:
    config = write_project(landing.parent / "on_duckdb", landing, "duckdb")
    run_twice(config)
    return config.parent


@pytest.fixture(scope="module")
def spark_project(landing: Path) -> Path:
    require_spark()
    config = write_project(landing.parent / "on_spark", landing, "spark")
    run_twice(config)
    return config.parent


@pytest.fixture(scope="module")
def spark(spark_project: Path) -> Iterator[Any]:
    """The Spark project's warehouse, read after its runs ended (a local metastore admits one
    process at a time)."""
    session = spark_session("local[1]", spark_project / "spark", SPARK_CONF)
    try:
        yield session
    finally:
        stop_spark()


# --- comparing ----------------------------------------------------------------------------------


def duckdb_tables(
    warehouse: Path, schema: str, *, every_table: bool = False
) -> dict[str, tuple[list[str], list[tuple]]]:
    """Columns and rows of every table and view dbt and the CLV built in the schema (with
    `every_table`, the exports' too), but NOT_COMPARED columns."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema],
            ).fetchall()
            if name not in BUILD_BOOKKEEPING and (every_table or name not in NOT_BUILT)
        ]
        tables = {}
        for name in names:
            cursor = con.execute(f"select * from {schema}.{name}")
            columns = [d[0] for d in cursor.description]
            kept = [i for i, c in enumerate(columns) if (name, c) not in NOT_COMPARED]
            tables[name] = (
                [columns[i] for i in kept],
                [tuple(row[i] for i in kept) for row in cursor.fetchall()],
            )
        return tables
    finally:
        con.close()


def spark_rows(spark: Any, table: str, columns: list[str]) -> list[tuple]:
    """The rows in DuckDB's column order; timestamps as wall-clock times (no time zone)."""
    frame = spark.table(table)
    kinds = dict(frame.dtypes)
    missing = sorted(set(columns) - set(kinds))
    left_out = {column for name, column in NOT_COMPARED if name == table.split(".")[-1]}
    extra = sorted(set(kinds) - set(columns) - left_out)
    assert not missing and not extra, f"{table}: only on DuckDB {missing}, only on Spark {extra}"
    selected = [
        f"cast(`{c}` as timestamp_ntz) as `{c}`" if kinds[c] == "timestamp" else f"`{c}`"
        for c in columns
    ]
    return [tuple(row) for row in frame.selectExpr(*selected).collect()]


def sort_key(row: tuple) -> tuple:
    # Floats last, so rows equal but for a float's last bits sort alike on both engines.
    exact = [v for v in row if not isinstance(v, float)]
    floats = [v for v in row if isinstance(v, float)]
    return tuple((v is None, "" if v is None else v) for v in (*exact, *floats))


def differs(duckdb_value: Any, spark_value: Any) -> bool:
    if duckdb_value is None or spark_value is None:
        return duckdb_value is not spark_value
    if isinstance(duckdb_value, float) or isinstance(spark_value, float):
        # A double on one engine and a decimal on the other is a difference too: money is decimal.
        return not (
            isinstance(duckdb_value, float)
            and isinstance(spark_value, float)
            and math.isclose(
                duckdb_value, spark_value, rel_tol=FLOAT_TOLERANCE, abs_tol=FLOAT_TOLERANCE
            )
        )
    if isinstance(duckdb_value, Decimal) or isinstance(spark_value, Decimal):
        return not (isinstance(duckdb_value, Decimal) and isinstance(spark_value, Decimal)) or (
            duckdb_value != spark_value
        )
    return duckdb_value != spark_value


def table_differences(table: str, columns: list[str], ours: list[tuple], theirs: list[tuple]):
    """What differs between DuckDB's rows and Spark's, one line per value."""
    if len(ours) != len(theirs):
        return [f"{table}: {len(ours)} rows on DuckDB, {len(theirs)} on Spark"]
    return [
        f"{table}.{column}: DuckDB {a!r}, Spark {b!r} (row {dict(zip(columns, left, strict=True))})"
        for left, right in zip(
            sorted(ours, key=sort_key), sorted(theirs, key=sort_key), strict=True
        )
        for column, a, b in zip(columns, left, right, strict=True)
        if differs(a, b)
    ]


def schema_differences(ours: dict, theirs_rows) -> list[str]:
    return [
        difference
        for name, (columns, rows) in sorted(ours.items())
        for difference in table_differences(name, columns, rows, theirs_rows(name, columns))
    ]


@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_spark_builds_the_rows_duckdb_builds(schema: str, spark: Any, duckdb_project: Path):
    ours = duckdb_tables(duckdb_project / "warehouse.duckdb", schema)
    # An empty table would compare equal whatever the SQL does on Spark.
    empty = sorted(name for name, (_, rows) in ours.items() if not rows)
    assert ours and not empty, f"{schema}: no rows on DuckDB in {empty or 'any table'}"
    built_on_spark = set(spark_tables(spark, schema)) - NOT_BUILT - BUILD_BOOKKEEPING
    assert built_on_spark == set(ours), f"{schema}: other tables"
    differences = schema_differences(
        ours, lambda name, columns: spark_rows(spark, f"{schema}.{name}", columns)
    )
    assert not differences, f"{len(differences)} values differ:\n" + "\n".join(differences[:20])


@pytest.mark.parametrize("schema", SERVED_SCHEMAS)
def test_a_spark_projects_duckdb_file_holds_what_the_duckdb_project_holds(
    schema: str, spark_project: Path, duckdb_project: Path
):
    """What the checks, exports, BI copy and report read: the tables copied back from Spark,
    and the campaign tables the exports wrote from them."""
    ours = duckdb_tables(duckdb_project / "warehouse.duckdb", schema, every_table=True)
    theirs = duckdb_tables(spark_project / "warehouse.duckdb", schema, every_table=True)
    assert ours and set(theirs) == set(ours), f"{schema}: other tables"
    differences = schema_differences(ours, lambda name, _: theirs[name][1])
    assert not differences, f"{len(differences)} values differ:\n" + "\n".join(differences[:20])
    assert all(theirs[name][0] == columns for name, (columns, _) in ours.items())


def export_files(project: Path) -> dict[str, bytes]:
    """Every segment file the exports wrote (manifests carry the time they were written)."""
    folder = project / "exports"
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and not path.is_symlink() and path.name != "manifest.json"
    }


def test_the_segment_files_are_the_same_on_both_engines(spark_project: Path, duckdb_project: Path):
    ours, theirs = export_files(duckdb_project), export_files(spark_project)
    assert any(name.endswith(".csv") for name in ours), "no segment file written on DuckDB"
    assert sorted(theirs) == sorted(ours)
    different = [name for name in ours if ours[name] != theirs[name]]
    assert not different, f"{len(different)} files differ, e.g. {different[:3]}"
