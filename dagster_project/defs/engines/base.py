"""What an engine does for the assets, whatever it is (see __init__.py)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Protocol

import dagster as dg
import pandas as pd
from dagster_dbt import DbtCliResource, DbtProject

from dagster_project.defs.resources import WarehouseResource
from dagster_project.lib.clv import ClvParameters

AS_OF_ENV = "LOYALTY_AS_OF_DATE"


@dataclass(frozen=True)
class DbtBuild:
    """A dbt asset's build: its project and vars, the selection it was defined with, and the
    as-of day of an analytics partition (None for the marts, which are not partitioned)."""

    project: DbtProject
    vars: dict
    select: str
    exclude: str | None = None
    as_of: str | None = None


@contextlib.contextmanager
def as_of_environment(as_of: str | None) -> Iterator[None]:
    """LOYALTY_AS_OF_DATE for the dbt run started inside (its macro `as_of_date` reads it).

    Not a dbt var: vars that change every day would make dbt parse the whole project again on
    every run (~25 s), while the settings' vars stay the same from night to night.
    """
    if as_of is None:
        yield
        return
    before = os.environ.get(AS_OF_ENV)
    os.environ[AS_OF_ENV] = as_of
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(AS_OF_ENV, None)
        else:
            os.environ[AS_OF_ENV] = before


class Engine(Protocol):
    """Where dbt builds and the CLV is fitted, and how what they built reaches the readers."""

    name: str

    def unavailable(self) -> str | None:
        """Why a run cannot use this engine on this machine (None when it can)."""

    def describe(self) -> str:
        """A few words for the run's first line, e.g. ' and Spark (local[2])'."""

    def build_dbt(
        self,
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        build: DbtBuild,
    ) -> Iterator:
        """`dbt build` of the asset's selection, as Dagster events; dg.Failure if it fails.
        Afterwards the DuckDB file holds what was built (the readers read it)."""

    def fit_clv(
        self, warehouse: WarehouseResource, params: ClvParameters, as_of: date, out_dir: Path
    ) -> tuple[Any, pd.DataFrame]:
        """The day's CLV fit and scores, written to analytics.customer_clv and clv_model_runs
        (and in the DuckDB file); returns the run (model, fits, plots, timings) and the scores."""

    def after_raw_redacted(
        self, context: dg.AssetExecutionContext, warehouse: WarehouseResource, days: tuple
    ) -> None:
        """An erasure redacted the raw days [first, last] of the DuckDB file: any other copy of
        raw follows."""

    def stop(self) -> None:
        """End what the runs of this process shared (called once they are done)."""
