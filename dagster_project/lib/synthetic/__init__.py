"""Synthetic landing data for a Spanish pharmacy chain, with the truth behind it.

`generate(out_dir)` writes every landing source of docs/sources.md (one folder per source per
day) plus `_truth/` for model-accuracy tests. Persons buy according to BG/NBD with Gamma-Gamma
spend; everything is vectorised numpy / Arrow and deterministic per seed.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa

from dagster_project.lib.synthetic import truth
from dagster_project.lib.synthetic.deliveries import BUILDERS, LANDING_PATHS
from dagster_project.lib.synthetic.params import (
    DEFAULT_POPULATION,
    DEFAULT_WORLD,
    STREAMS,
    PopulationParams,
    WorldParams,
)
from dagster_project.lib.synthetic.timeline import Timeline
from dagster_project.lib.synthetic.world import simulate_world
from dagster_project.lib.synthetic.writer import write_delivery

__all__ = ["GenerationSummary", "PopulationParams", "WorldParams", "generate"]


@dataclass(frozen=True)
class GenerationSummary:
    """What `generate` wrote."""

    out_dir: Path
    persons: int
    purchases: int
    files: dict[str, int] = field(default_factory=dict)  # per landing path
    rows: dict[str, int] = field(default_factory=dict)  # records per landing path
    dirty_rows: int = 0
    seconds: float = 0.0

    @property
    def total_files(self) -> int:
        return sum(self.files.values())

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _prepare(out_dir: Path, overwrite: bool) -> None:
    """Refuse to mix with an earlier generation's files unless told to replace them."""
    ours = [out_dir / p for p in LANDING_PATHS] + [out_dir / "_truth"]
    existing = [p for p in ours if p.exists() and any(p.iterdir())]
    if existing and not overwrite:
        raise FileExistsError(
            f"{existing[0]} already holds files; choose an empty directory or pass overwrite=True"
        )
    for p in existing:
        shutil.rmtree(p)
    out_dir.mkdir(parents=True, exist_ok=True)


def generate(
    out_dir: Path,
    *,
    customers: int = 20_000,
    start: date = date(2024, 1, 1),
    end: date = date(2025, 12, 31),
    seed: int = 42,
    dirty_rate: float = 0.0,
    progress: Callable[[str], None] | None = None,
    overwrite: bool = False,
) -> GenerationSummary:
    """Write synthetic landing files for `customers` persons from `start` to `end` under `out_dir`.

    Same arguments, same bytes. `dirty_rate` (0..1) is the share of rows per source given one
    realistic fault, recorded in `_truth/dirty_rows.parquet`. Landing folders of an earlier run
    in `out_dir` are replaced only with `overwrite=True`.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if not 0.0 <= dirty_rate <= 1.0:
        raise ValueError(f"dirty_rate must be between 0 and 1, got {dirty_rate}")
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    timeline = Timeline.build(start, end)
    out_dir = Path(out_dir)
    _prepare(out_dir, overwrite)
    w = simulate_world(customers, timeline, seed, DEFAULT_POPULATION, DEFAULT_WORLD, say)

    files: dict[str, int] = {}
    rows: dict[str, int] = {}
    dirty_tables: list[pa.Table] = []
    for i, build in enumerate(BUILDERS):
        delivery = build(w)
        say(f"writing {delivery.landing_path}")
        dirty_rng = np.random.default_rng([seed, STREAMS["dirty"], i])
        written = write_delivery(out_dir, delivery, w.clock, dirty_rng, dirty_rate)
        files[delivery.landing_path] = written.files
        rows[delivery.landing_path] = written.rows
        dirty_tables.append(written.dirty_table(delivery.landing_path))

    say("truth")
    dirty_rows = pa.concat_tables(dirty_tables)
    customers_truth = truth.customers_table(
        timeline,
        w.persons,
        w.accounts,
        w.purchases,
        w.histories,
        w.cancelled_per_person(),
        w.population,
        w.needs,
    )
    parameters = truth.parameters(
        w.population,
        w.world,
        seed=seed,
        start=start,
        end=end,
        customers=customers,
        dirty_rate=dirty_rate,
    )
    truth.write_truth(out_dir, customers_truth, parameters, dirty_rows)
    return GenerationSummary(
        out_dir=out_dir,
        persons=len(w.persons),
        purchases=len(w.purchases),
        files=files,
        rows=rows,
        dirty_rows=dirty_rows.num_rows,
        seconds=round(time.perf_counter() - started, 3),
    )
