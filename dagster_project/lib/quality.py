"""Validating a table's rows against a Great Expectations 1.x suite kept in `expectations/`.

Suites are JSON files a data engineer reads and edits (`expectations/<asset>.json`, the file name
being the asset the suite guards). Each expectation may carry `meta.severity`: `error` (the
default: a failure blocks what comes downstream) or `warn` (recorded, nothing stops). Validation
runs on pandas DataFrames in an ephemeral GX context: GX's SQL path does not work on DuckDB.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SEVERITIES = ("error", "warn")
EXAMPLES = 3


@dataclass(frozen=True)
class ExpectationOutcome:
    """How one expectation fared on a batch (counts and a few example values, never whole rows)."""

    expectation: str
    column: str | None
    severity: str
    success: bool
    unexpected_count: int
    element_count: int
    examples: tuple[Any, ...]

    @property
    def name(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


def suite_path(asset_name: str, folder: Path = EXPECTATIONS_DIR) -> Path:
    return folder / f"{asset_name}.json"


def suites(folder: Path = EXPECTATIONS_DIR) -> dict[str, Path]:
    """Asset name → its suite file."""
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


def load_suite(path: Path) -> dict[str, Any]:
    """The suite as JSON, with its severities checked (a typo must not silently mean 'error')."""
    suite = json.loads(path.read_text(encoding="utf-8"))
    for index, expectation in enumerate(suite.get("expectations", [])):
        severity = (expectation.get("meta") or {}).get("severity", "error")
        if severity not in SEVERITIES:
            raise ValueError(
                f"{path.name}: expectation {index + 1} ({expectation.get('type')}): "
                f"meta.severity must be error or warn, not {severity!r}"
            )
    return suite


@cache
def _context():
    # Imported here: GX takes seconds to import, and only validation needs it.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


def validate_frame(frame: pd.DataFrame, path: Path) -> list[ExpectationOutcome]:
    """Run the suite at `path` on `frame`; one outcome per expectation, in the suite's order."""
    import great_expectations as gx

    spec = load_suite(path)
    context = _context()
    name = f"{path.stem}_{id(frame)}"
    source = context.data_sources.add_or_update_pandas(name)
    batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
    wanted = spec.get("expectations", [])
    built = gx.ExpectationSuite(name=name, expectations=wanted)
    # GX logs and drops an expectation it does not know; a suite must not lose one silently.
    known = {e.expectation_type for e in built.expectations}
    unknown = [e.get("type") for e in wanted if e.get("type") not in known]
    if len(built.expectations) != len(wanted) or unknown:
        raise ValueError(
            f"{path.name}: unknown or invalid expectation {unknown[0] if unknown else '?'}"
        )
    suite = context.suites.add_or_update(built)
    validation = context.validation_definitions.add_or_update(
        gx.ValidationDefinition(name=name, data=batch, suite=suite)
    )
    result = validation.run(
        batch_parameters={"dataframe": frame},
        result_format={"result_format": "SUMMARY", "partial_unexpected_count": EXAMPLES},
    )
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=config.kwargs.get("column")
                or ",".join(config.kwargs.get("column_list", []) or []),
                severity=(config.meta or {}).get("severity", "error"),
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                element_count=int(details.get("element_count") or len(frame)),
                examples=tuple(
                    str(v) for v in (details.get("partial_unexpected_list") or [])[:EXAMPLES]
                ),
            )
        )
    context.data_sources.delete(name)
    return outcomes
