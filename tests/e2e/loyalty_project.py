"""A project as a user makes one with the `loyalty` command, and independent sums of its files.

Shared by the end-to-end tests of the command (test_loyalty_cli, test_loyalty_demo,
test_loyalty_inputs, and, for projects over one landing folder, test_operations and
test_incremental_marts); the sums are computed on the landing files with pandas and json, never
from the pipeline's own tables.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd

from dagster_project.lib.quality import load_suite, suites

sys.path.insert(0, str(Path(__file__).parent))
from warehouse_snapshot import all_tables

LOYALTY = str(Path(sys.executable).parent / "loyalty")
# The tables of marts a run must fill.
MART_TABLES = (
    "dim_customers",
    "fct_transactions",
    "fct_transaction_lines",
    "dim_products",
    "dim_stores",
)
START, END = "2025-01-01", "2025-04-30"


def loyalty(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=os.environ.copy(),
        check=False,
    )


def write_config(folder: Path, extra: str = "") -> Path:
    config = folder / "loyalty.yml"
    config.write_text(
        f"timezone: Europe/Madrid\nstart_date: {START}\nlanding_dir: landing\n"
        f"warehouse: {{path: warehouse.duckdb}}\n{extra}",
        encoding="utf-8",
    )
    return config


@dataclass(frozen=True)
class Project:
    folder: Path
    config: Path
    run: subprocess.CompletedProcess[str]

    @property
    def landing(self) -> Path:
        return self.folder / "landing"

    def connect(self) -> duckdb.DuckDBPyConnection:
        return duckdb.connect(str(self.folder / "warehouse.duckdb"), read_only=True)


def generated_project(folder: Path, *extra_args: str) -> Project:
    made = loyalty(
        "generate",
        "--out",
        str(folder / "landing"),
        "--customers",
        "400",
        "--start",
        START,
        "--end",
        END,
        "--seed",
        "11",
        *extra_args,
    )
    assert made.returncode == 0, made.stderr
    config = write_config(folder)
    return Project(folder, config, loyalty("run", "--config", str(config)))


@dataclass(frozen=True)
class ProjectOver:
    """A project folder of its own (configuration, warehouse, exports, Dagster home in `env`)
    over a landing folder that other projects may read too: two ways of running the same
    deliveries, compared table by table and file by file."""

    folder: Path
    config: Path
    env: dict[str, str]

    @property
    def warehouse(self) -> Path:
        return self.folder / "warehouse.duckdb"

    @property
    def dagster_home(self) -> Path:
        return Path(self.env["DAGSTER_HOME"])

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [LOYALTY, "run", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )

    def start(self, *args: str) -> subprocess.Popen[str]:
        """`loyalty run` in the background (for projects run side by side)."""
        return subprocess.Popen(
            [LOYALTY, "run", "--config", str(self.config), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env,
        )

    def tables(self) -> dict[str, list[tuple]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return all_tables(con)

    def exports(self) -> dict[str, bytes]:
        root = self.folder / "exports"
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def project_over(
    folder: Path,
    landing: Path,
    start: str,
    env: dict[str, str] | None = None,
    *,
    warehouse: str = "",
    extra: str = "",
) -> ProjectOver:
    """A project in `folder` reading `landing` from `start`, every segment file on (a Mailchimp
    file of everyone who bought). `warehouse` adds settings to `warehouse:` (e.g.
    `incremental_marts: false`); without `env`, the project gets a Dagster home of its own."""
    folder.mkdir(parents=True)
    config = folder / "loyalty.yml"
    options = f", {warehouse}" if warehouse else ""
    config.write_text(
        f"timezone: Europe/Madrid\nstart_date: {start}\nlanding_dir: {landing}\n"
        f"warehouse: {{path: warehouse.duckdb{options}}}\n"
        "exports: {tools: [mailchimp], segments: {buyers: {where: 'frequency >= 0'}}}\n"
        f"{extra}",
        encoding="utf-8",
    )
    if env is None:
        (folder / "dagster_home").mkdir()
        env = {**os.environ, "DAGSTER_HOME": str(folder / "dagster_home")}
    return ProjectOver(folder, config, env)


# --- independent computations on the landing files -------------------------------------------


def pos_net_revenue(landing: Path) -> Decimal:
    total = Decimal(0)
    for path in sorted(landing.glob("pos/tickets/date=*/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        total += sum((Decimal(v) for v in frame["line_amount"]), Decimal(0))
    return total


def shopify_net_revenue(landing: Path) -> Decimal:
    """Latest version of each order, cancelled ones left out: subtotal minus refunded lines."""
    latest: dict[int, dict] = {}
    for path in sorted(landing.glob("ecommerce/orders/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            order = json.loads(line)
            updated = datetime.fromisoformat(order["updated_at"])
            if order["id"] not in latest or updated >= datetime.fromisoformat(
                latest[order["id"]]["updated_at"]
            ):
                latest[order["id"]] = order
    total = Decimal(0)
    for order in latest.values():
        if order.get("cancelled_at"):
            continue
        refunded = sum(
            (
                Decimal(item["subtotal"])
                for refund in order.get("refunds") or []
                for item in refund["refund_line_items"]
            ),
            Decimal(0),
        )
        total += Decimal(order["subtotal_price"]) - refunded
    return total


def records_in_file(path: Path) -> int:
    """Records a file holds, counted with Python's csv module / as non-blank JSON lines."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return sum(1 for line in text.splitlines() if line.strip())
    return sum(1 for row in csv.reader(text.splitlines(keepends=True)) if row) - 1


def guarded_tables(schema: str) -> set[str]:
    """The tables of `schema` that a suite in expectations/ guards."""
    return {
        name
        for name, path in suites().items()
        if load_suite(path)["meta"]["guards"].startswith(f"{schema}/")
    }
