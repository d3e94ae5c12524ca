"""The SparkSession a run uses, and stopping it with its JVM.

One session serves a whole process (`SparkSession.builder.getOrCreate`): dbt-spark's session
method, the CLV and the table copies all take the same one. With a local master its tables and
its metastore (Derby) live in one folder, and nothing reaches the network: the web UI is off and
the driver binds to the loopback address. Derby admits one process at a time, so with a local
master runs take turns (docs/scaling.md); a cluster's metastore has no such limit.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# Errors only: Spark's start-up warnings (no native Hadoop, Hive's defaults) say nothing to a user.
LOG4J2_PROPERTIES = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = stderr
appender.stderr.type = Console
appender.stderr.name = stderr
appender.stderr.target = SYSTEM_ERR
appender.stderr.layout.type = PatternLayout
appender.stderr.layout.pattern = %d{HH:mm:ss} %p %c{1}: %m%n
"""


def spark_unavailable() -> str | None:
    """Why a Spark session cannot start on this machine (one line), or None."""
    for module in ("pyspark", "dbt.adapters.spark"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (the project's spark extra: make setup installs it)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime for Spark on the PATH or in JAVA_HOME (make java installs Debian's)"
    return None


def local_settings(folder: Path) -> dict[str, str]:
    """What a local master needs: tables and metastore in `folder`, no UI, loopback only."""
    folder.mkdir(parents=True, exist_ok=True)
    log4j = folder / "log4j2.properties"
    log4j.write_text(LOG4J2_PROPERTIES, encoding="utf-8")
    return {
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.driver.host": "127.0.0.1",
        "spark.driver.bindAddress": "127.0.0.1",
        "spark.driver.extraJavaOptions": (
            f"-Dlog4j.configurationFile=file:{log4j} -Dderby.system.home={folder}"
        ),
        "spark.sql.warehouse.dir": str(folder / "warehouse"),
        # Hive's session makes a <session id>_resources folder in /tmp and never removes it: one
        # a run. One folder of the project's instead.
        "spark.hadoop.hive.downloaded.resources.dir": str(folder / "hive_resources"),
        "spark.hadoop.javax.jdo.option.ConnectionURL": (
            f"jdbc:derby:;databaseName={folder / 'metastore_db'};create=true"
        ),
    }


def spark_session(master: str, folder: Path, conf: Mapping[str, str] | None = None) -> Any:
    """The process's SparkSession (created on first use) with the Hive metastore.

    The scoring's Python workers run this interpreter (pandas, lifetimes, the project); on a
    cluster the executors need the same environment. Timestamps are wall-clock times: the
    session time zone is UTC so Spark never shifts them. `conf` comes last and wins.
    """
    from pyspark.sql import SparkSession

    # PySpark starts its Python workers with $PYSPARK_PYTHON (python3 on the PATH otherwise,
    # which lacks the project); a cluster's own setting wins.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    settings = {
        **(local_settings(folder) if master.startswith("local") else {}),
        "spark.sql.session.timeZone": "UTC",
        **(conf or {}),
    }
    builder = SparkSession.builder.master(master).appName("loyalty")
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.enableHiveSupport().getOrCreate()


def stop_spark() -> None:
    """Stop the process's session and its JVM, if one runs.

    session.stop() alone leaves the JVM (1.5 GB) running, and with it Derby's lock on a local
    metastore, for the rest of the process; the JVM exits when its stdin closes (PySpark's
    launcher sees to it).
    """
    try:
        from pyspark import SparkContext
        from pyspark.sql import SparkSession
    except ImportError:
        return
    session = SparkSession.getActiveSession() or SparkSession._instantiatedSession
    gateway = SparkContext._gateway
    if session is not None:
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
