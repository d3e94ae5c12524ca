"""Test-wide set-up: no telemetry, and a throw-away Dagster home for every test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dagster_project.lib.environment import TELEMETRY_OFF, prepare_dagster_home

REPO = Path(__file__).resolve().parents[1]


def _shared_datasets() -> Path:
    """The public datasets shared beside the repository (not copied into it)."""
    candidates = [
        Path(os.environ["LOYALTY_SHARED_DATASETS"])
        if os.environ.get("LOYALTY_SHARED_DATASETS")
        else None,
        REPO.parent / "shared" / "datasets",
        Path("/work/shared/datasets"),
    ]
    for candidate in candidates:
        if candidate is not None and (candidate / "online_retail").is_dir():
            return candidate
    raise FileNotFoundError(
        "the shared datasets are not beside the repository (../shared/datasets); "
        "set LOYALTY_SHARED_DATASETS to their folder"
    )


# The minimal loyalty.yml of the design (a retailer with one flat sales export), verbatim: it must
# work as it stands.
MINIMAL_CONFIG = """\
timezone: Europe/Madrid
landing_dir: landing            # absent folders = sources not delivered
warehouse: {path: warehouse.duckdb}
exports_dir: exports
sources:
  transactions:                 # the generic source
    path: sales/*.csv           # glob; csv or parquet by extension, or format: csv|parquet
    columns: {customer_id: CustomerID, order_id: InvoiceNo, ordered_at: InvoiceDate, amount: Total}
    # instead of amount: quantity: Quantity, unit_price: UnitPrice (amount = quantity × unit_price)
clv: {model: bgnbd, time_unit: W, holdout_days: 91}
"""


@pytest.fixture
def minimal_config_text() -> str:
    return MINIMAL_CONFIG


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    return _shared_datasets()


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory):
    os.environ.update(TELEMETRY_OFF)
    home = prepare_dagster_home(tmp_path_factory.mktemp("dagster_home"))
    os.environ["DAGSTER_HOME"] = str(home)
    os.environ.pop("LOYALTY_CONFIG", None)
    # A key of the tests' own: outside demo mode a run refuses the documented demo key.
    os.environ["LOYALTY_PSEUDONYM_KEY"] = "loyalty-tests-key"
    yield
