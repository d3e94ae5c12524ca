"""The dbt project and the CLV on Spark give the rows they give on DuckDB.

A small generated pharmacy chain is ingested into a DuckDB warehouse and dbt builds it there as
the Dagster assets do: everything as of a mid-month day, then the analytics as of the last day,
with the CLV (fits and scores, `clv_on_duckdb` as the asset runs it) in between. The raw tables
are handed to Spark (dbt-spark's session method, local mode) as parquet, and the same project
builds there in the same order, with the CLV fitted on the compressed summary and scored batch
by batch on Spark (`clv_on_spark`). Every table and view dbt builds after staging
(intermediate, marts, pii, analytics), and the CLV tables, must hold the same rows on both
engines: money to the cent, shares and probabilities to 1e-9.

Spark takes about a second a query however small the data (a full build takes minutes), so the
data are small, each engine builds once for the whole module, and dbt's own generic tests
(not_null, unique, ...) run on DuckDB only.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from dbt_runs import dbt_arguments, duckdb_build, load_landing
from prerequisites import unavailable

from dagster_project.config import Settings, settings_from_dict
from dagster_project.defs.analytics.clv import clv_parameters
from dagster_project.defs.transform.dbt_assets import settings_vars
from dagster_project.lib.clv.spark import (
    CLV_MODEL_RUNS_TABLE,
    CUSTOMER_CLV_TABLE,
    clv_on_spark,
)
from dagster_project.lib.clv.warehouse import clv_on_duckdb
from dagster_project.lib.environment import TELEMETRY_OFF
from dagster_project.lib.spark.raw import copy_raw_days
from dagster_project.lib.spark.tables import ensure_day_table
from dagster_project.lib.synthetic import generate
from dagster_project.lib.warehouse import (
    CLV_MODEL_RUN_COLUMNS,
    CUSTOMER_CLV_COLUMNS,
    connect,
)

START, END = date(2024, 7, 1), date(2025, 3, 31)
EARLIER = date(2025, 2, 14)
# Few customers keep Spark quick; small profile groups still give segment_profiles rows to compare.
CUSTOMERS = 120
PROFILE_MIN_GROUP_SIZE = 3

# The schemas compared: everything dbt builds after staging (views over raw, feeding these).
COMPARED_SCHEMAS = ("intermediate", "marts", "pii", "analytics")
# Written by the exports, which do not run here.
NOT_BUILT = {"campaign_members", "campaign_results"}
# Columns that differ by nature: how long a fit took.
NOT_COMPARED = {("clv_model_runs", "seconds")}

FLOAT_TOLERANCE = 1e-9


# --- the DuckDB warehouse ------------------------------------------------------------------------


def dbt_vars(settings: Settings, as_of: date) -> dict:
    return {
        **settings_vars(settings),
        "as_of_date": as_of.isoformat(),
        "profile_min_group_size": PROFILE_MIN_GROUP_SIZE,
    }


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("spark_equivalence")
    generate(folder / "landing", customers=CUSTOMERS, start=START, end=END, seed=31)
    return settings_from_dict(
        {
            "start_date": START.isoformat(),
            "landing_dir": str(folder / "landing"),
            "warehouse": {"path": str(folder / "duckdb" / "warehouse.duckdb")},
        }
    )


@pytest.fixture(scope="module")
def duckdb_warehouse(settings: Settings) -> Path:
    """The warehouse built on DuckDB as the Dagster assets build it: marts, analytics, CLV."""
    load_landing(settings, START, END)
    work_dir = settings.warehouse_path.parent
    warehouse = settings.warehouse_path
    duckdb_build(warehouse, dbt_vars(settings, EARLIER), work_dir)
    before_clv = ("--select", "tag:analytics", "--exclude", "tag:after_clv")
    duckdb_build(warehouse, dbt_vars(settings, END), work_dir, *before_clv)
    con = connect(warehouse)
    try:
        run = clv_on_duckdb(con, clv_parameters(settings), END, out_dir=None)
    finally:
        con.close()
    # A fitted model, not the fallback heuristic, is what the Spark scoring has to match.
    assert run.purchase_fit.ok and run.spend_fit.ok, (run.purchase_fit, run.spend_fit)
    duckdb_build(warehouse, dbt_vars(settings, END), work_dir, "--select", "tag:after_clv")
    return settings.warehouse_path


# --- the same project on Spark -------------------------------------------------------------------


def require_spark() -> None:
    """Skip without Java or pyspark, with the reason; in CI both are installed, so fail."""
    reason = None
    if shutil.which("java") is None:
        reason = "no Java runtime for Spark (make java installs Debian's)"
    else:
        try:
            import dbt.adapters.spark  # noqa: F401
            import pyspark  # noqa: F401
        except ImportError as error:
            reason = f"the spark extra is not installed (make setup installs it): {error}"
    if reason is not None:
        unavailable(reason)


# Errors only: Spark's start-up warnings (no native Hadoop, Hive's defaults) say nothing here.
LOG4J2_PROPERTIES = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A local SparkSession that never reaches the network, its metastore in a scratch folder.

    dbt-spark's session method takes this session (SparkSession.builder.getOrCreate) when dbt
    runs in this process.
    """
    require_spark()
    from pyspark.sql import SparkSession

    scratch = tmp_path_factory.mktemp("spark")
    # The CLV scoring's Python workers need this environment (pandas, lifetimes, the project);
    # PySpark starts them with $PYSPARK_PYTHON, python3 on the PATH otherwise.
    os.environ["PYSPARK_PYTHON"] = sys.executable
    (scratch / "log4j2.properties").write_text(LOG4J2_PROPERTIES, encoding="utf-8")
    java_options = (
        f"-Dlog4j.configurationFile=file:{scratch / 'log4j2.properties'} "
        f"-Dderby.system.home={scratch}"
    )
    session = (
        SparkSession.builder.master("local[2]")
        .appName("loyalty-spark-equivalence")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.extraJavaOptions", java_options)
        # A few thousand rows: one shuffle partition instead of 200 saves most of the run time.
        .config("spark.sql.shuffle.partitions", "1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
        .config(
            "spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={scratch / 'metastore_db'};create=true",
        )
        .enableHiveSupport()
        .getOrCreate()
    )
    try:
        yield session
    finally:
        stop_with_jvm(session)


def stop_with_jvm(session: Any) -> None:
    """Stop the session and its JVM. session.stop() alone leaves the JVM (1.5 GB) running for
    the rest of the test process; it exits when its stdin closes (PySpark's launcher sees to it)."""
    from pyspark import SparkContext

    gateway = SparkContext._gateway
    session.stop()
    if gateway is None:
        return
    process = getattr(gateway, "proc", None)
    gateway.shutdown()
    SparkContext._gateway = None
    SparkContext._jvm = None
    if process is not None and process.stdin is not None:
        process.stdin.close()
        process.wait(timeout=60)


def hand_to_spark(spark: Any, warehouse: Path, staging: Path) -> None:
    """The raw days of the DuckDB warehouse handed to Spark as ingest's days would be, in two
    overlapping ranges: days handed over again replace what Spark had of them."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        first = copy_raw_days(con, spark, START, EARLIER, staging)
        second = copy_raw_days(con, spark, EARLIER - timedelta(days=10), END, staging)
    finally:
        con.close()
    assert first["raw.pos_tickets"] > 0 and second["raw.pos_tickets"] > 0
    for table in first:
        (rows,) = spark.sql(f"select count(*) from {table}").collect()[0]
        (expected,) = duckdb_count(warehouse, table)
        assert rows == expected, f"{table}: {rows} rows on Spark, {expected} on DuckDB"


def duckdb_count(warehouse: Path, table: str) -> tuple[int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchall()[0]
    finally:
        con.close()


# dbt's own generic tests (SQL of dbt-spark's) take 40 % of a Spark build and check what the
# comparison with DuckDB checks anyway; the project's own tests and unit tests run on Spark too.
DBT_BUILTIN_TESTS = ("not_null", "unique", "accepted_values", "relationships")


def spark_dbt(
    command: str, settings: Settings, as_of: date, work_dir: Path, *selection: str
) -> None:
    """dbt on --target spark, in this process: dbt-spark takes the test's SparkSession."""
    from dbt.cli.main import dbtRunner

    arguments = [
        *dbt_arguments(command, dbt_vars(settings, as_of), work_dir, *selection),
        "--target",
        "spark",
        "--exclude",
        *(f"test_name:{name}" for name in DBT_BUILTIN_TESTS),
    ]
    result = dbtRunner().invoke(arguments)
    failures = [
        f"{node.node.unique_id}: {node.message}"
        for node in (result.result or [])
        if getattr(node, "status", None) in ("error", "fail")
    ]
    assert result.success, f"dbt {command} on Spark failed: {result.exception or failures}"


@pytest.fixture(scope="module")
def spark_warehouse(spark: Any, settings: Settings, duckdb_warehouse: Path) -> Any:
    """The same project built on Spark from the same raw rows and CLV, in the same order."""
    work_dir = duckdb_warehouse.parent.parent / "spark_dbt"
    os.environ.update(TELEMETRY_OFF)
    hand_to_spark(spark, duckdb_warehouse, work_dir / "raw_parquet")
    # The CLV tables exist before the first build, as on DuckDB (empty until the CLV runs).
    for table, columns in (
        (CUSTOMER_CLV_TABLE, CUSTOMER_CLV_COLUMNS),
        (CLV_MODEL_RUNS_TABLE, CLV_MODEL_RUN_COLUMNS),
    ):
        ensure_day_table(spark, table, columns)
    spark_dbt("build", settings, EARLIER, work_dir)
    # Their tests ran on EARLIER's build: END adds a partition to each (the incremental path).
    before_clv = ("--select", "tag:analytics", "--exclude", "tag:after_clv")
    spark_dbt("run", settings, END, work_dir, *before_clv)
    # Scored in three partitions: each batch with the population of the whole.
    clv_on_spark(spark, clv_parameters(settings), END, out_dir=None, score_partitions=3)
    spark_dbt("run", settings, END, work_dir, "--select", "tag:after_clv")
    return spark


# --- comparing ----------------------------------------------------------------------------------


def duckdb_tables(warehouse: Path, schema: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Columns and rows of every table and view built in the schema (but NOT_COMPARED columns)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        names = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables where table_schema = ?",
                [schema],
            ).fetchall()
            if name not in NOT_BUILT
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


def spark_tables(spark: Any, schema: str) -> set[str]:
    # dbt-spark's incremental models leave session views (<model>__dbt_tmp) that every database lists.
    return {
        row.tableName
        for row in spark.sql(f"show tables in {schema}").collect()
        if not row.isTemporary and row.tableName not in NOT_BUILT
    }


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


@pytest.mark.parametrize("schema", COMPARED_SCHEMAS)
def test_spark_builds_the_rows_duckdb_builds(
    schema: str, spark_warehouse: Any, duckdb_warehouse: Path
):
    # spark_warehouse first: without Spark the test stops before the DuckDB build.
    ours = duckdb_tables(duckdb_warehouse, schema)
    # An empty table would compare equal whatever the SQL does on Spark.
    empty = sorted(name for name, (_, rows) in ours.items() if not rows)
    assert ours and not empty, f"{schema}: no rows on DuckDB in {empty or 'any table'}"
    assert spark_tables(spark_warehouse, schema) == set(ours), f"{schema}: other tables"
    differences = [
        difference
        for name, (columns, rows) in sorted(ours.items())
        for difference in table_differences(
            f"{schema}.{name}",
            columns,
            rows,
            spark_rows(spark_warehouse, f"{schema}.{name}", columns),
        )
    ]
    assert not differences, f"{len(differences)} values differ:\n" + "\n".join(differences[:20])
