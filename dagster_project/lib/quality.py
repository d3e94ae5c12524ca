"""Validating a table's rows against a Great Expectations 1.x suite kept in `expectations/`.

Suites are JSON files a data engineer reads and edits (`expectations/<asset>.json`, the file name
being the asset the suite guards). Each expectation may carry `meta.severity`: `error` (the
default: a failure blocks what comes downstream) or `warn` (recorded, nothing stops). Validation
runs on pandas DataFrames in an ephemeral GX context: GX's SQL path does not work on DuckDB.

A suite may name run-time parameters in its `meta.parameters`, each the distinct values of a
warehouse column (`{"catalog_skus": {"distinct_values_of": "raw.catalog_products.sku"}}`), and use
them in an expectation as `{"$PARAMETER": "catalog_skus"}`: a referential check without SQL in
the suite.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd

from dagster_project.lib.privacy import is_personal_column

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
SEVERITIES = ("error", "warn")
EXAMPLES = 3
# Keys of an expectation's kwargs that name the columns it reads.
_COLUMN_KEYS = ("column", "column_A", "column_B")
_COLUMN_LIST_KEYS = ("column_list",)


@dataclass(frozen=True)
class SuiteParameter:
    """A run-time parameter of a suite: the distinct values of one warehouse column."""

    name: str
    schema: str
    table: str
    column: str


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
    # Unexpected rows per day (when the frame has a day column), days in order.
    unexpected_by_day: tuple[tuple[str, int], ...] = ()

    @property
    def name(self) -> str:
        return f"{self.expectation}({self.column})" if self.column else self.expectation


def suites(folder: Path = EXPECTATIONS_DIR) -> dict[str, Path]:
    """Asset name → its suite file."""
    return {path.stem: path for path in sorted(folder.glob("*.json"))}


def load_suite(path: Path) -> dict[str, Any]:
    """The suite as JSON, with its severities and parameters checked (a typo must not silently
    mean 'error', nor a parameter be missing at run time)."""
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path.name}: not valid JSON (line {error.lineno}, column {error.colno})"
        ) from None
    defined = {p.name for p in suite_parameters(suite, path.name)}
    for index, expectation in enumerate(suite.get("expectations", [])):
        where = f"{path.name}: expectation {index + 1} ({expectation.get('type')})"
        severity = (expectation.get("meta") or {}).get("severity", "error")
        if severity not in SEVERITIES:
            raise ValueError(f"{where}: meta.severity must be error or warn, not {severity!r}")
        for value in (expectation.get("kwargs") or {}).values():
            if isinstance(value, dict) and value.get("$PARAMETER") not in (None, *defined):
                raise ValueError(
                    f"{where}: parameter {value['$PARAMETER']!r} is not in meta.parameters"
                )
    return suite


def suite_parameters(suite: dict[str, Any], file_name: str = "suite") -> list[SuiteParameter]:
    """The run-time parameters a suite declares in `meta.parameters`."""
    declared = (suite.get("meta") or {}).get("parameters") or {}
    parameters = []
    for name, spec in declared.items():
        source = spec.get("distinct_values_of") if isinstance(spec, dict) else None
        parts = source.split(".") if isinstance(source, str) else []
        if len(parts) != 3 or not all(parts):
            raise ValueError(
                f"{file_name}: meta.parameters.{name} must be "
                '{"distinct_values_of": "schema.table.column"}'
            )
        parameters.append(SuiteParameter(name, *parts))
    return parameters


def suite_columns(suite: dict[str, Any]) -> list[str]:
    """The columns a suite's expectations read, in first-use order."""
    columns: list[str] = []
    for expectation in suite.get("expectations", []):
        kwargs = expectation.get("kwargs") or {}
        named = [kwargs[k] for k in _COLUMN_KEYS if isinstance(kwargs.get(k), str)]
        for key in _COLUMN_LIST_KEYS:
            named += list(kwargs.get(key) or [])
        columns += [c for c in named if c not in columns]
    return columns


def shown_examples(values: list[Any], columns: list[str]) -> tuple[str, ...]:
    """A few unexpected values, unless they may identify a person."""
    if any(is_personal_column(c) for c in columns):
        return ()
    return tuple(str(v) for v in values[:EXAMPLES])


def _by_day(details: dict[str, Any], day_column: str | None) -> tuple[tuple[str, int], ...]:
    counts: dict[str, int] = {}
    for row in details.get("unexpected_index_list") or []:
        if isinstance(row, dict) and day_column in row:
            day = str(pd.Timestamp(row[day_column]).date())
            counts[day] = counts.get(day, 0) + 1
    return tuple(sorted(counts.items()))


@cache
def _context():
    # Imported here: GX takes seconds to import, and only validation needs it.
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@cache
def _docs_site(docs_dir: Path) -> str:
    """A Data Docs site writing to `docs_dir` (added once per process); its name."""
    name = f"loyalty_{len(_context().get_site_names())}"
    _context().add_data_docs_site(
        site_name=name,
        site_config={
            "class_name": "SiteBuilder",
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(docs_dir),
            },
        },
    )
    return name


def pseudonymise_personal_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with every personal column's values replaced by a stable token (nulls kept).

    Presence, uniqueness and equality survive, so suites can still check them; but no email or
    name reaches GX's results, the check's metadata or the Data Docs pages.
    """
    personal = [c for c in frame.columns if is_personal_column(str(c))]
    if not personal:
        return frame
    frame = frame.copy()
    for column in personal:
        tokens = pd.util.hash_pandas_object(frame[column], index=False).map("{:016x}".format)
        frame[column] = tokens.where(frame[column].notna())
    return frame


def validate_frame(
    frame: pd.DataFrame,
    path: Path,
    *,
    parameters: dict[str, Any] | None = None,
    day_column: str | None = None,
    docs_dir: Path | None = None,
) -> list[ExpectationOutcome]:
    """Run the suite at `path` on `frame`; one outcome per expectation, in the suite's order.

    `parameters` gives the values of the suite's `meta.parameters`; with `day_column`, each
    outcome also counts its unexpected rows per day (a batch of a range of days). With
    `docs_dir`, the result is added to the Data Docs site there (offline: see `make_offline`).
    """
    import great_expectations as gx

    spec = load_suite(path)
    context = _context()
    frame = pseudonymise_personal_columns(frame)
    name = path.stem
    source = context.data_sources.add_or_update_pandas(name)
    batch = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(name)
    wanted = spec.get("expectations", [])
    built = gx.ExpectationSuite(name=name, expectations=wanted, meta=spec.get("meta") or {})
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
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": EXAMPLES,
    }
    if day_column is not None and day_column in frame.columns:
        # Every unexpected row's day, to say which days of a range failed.
        result_format |= {
            "result_format": "COMPLETE",
            "unexpected_index_column_names": [day_column],
            "return_unexpected_index_query": False,
        }
    actions = []
    if docs_dir is not None:
        actions.append(
            gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=[_docs_site(docs_dir)])
        )
    checkpoint = context.checkpoints.add_or_update(
        gx.Checkpoint(
            name=name,
            validation_definitions=[validation],
            actions=actions,
            result_format=result_format,
        )
    )
    run = checkpoint.run(
        batch_parameters={"dataframe": frame}, expectation_parameters=parameters or {}
    )
    (result,) = run.run_results.values()
    if docs_dir is not None:
        make_offline(docs_dir)
    outcomes = []
    for item in result.results:
        config = item.expectation_config
        details = item.result or {}
        columns = suite_columns({"expectations": [{"kwargs": config.kwargs}]})
        outcomes.append(
            ExpectationOutcome(
                expectation=config.type,
                column=",".join(columns) or None,
                severity=(config.meta or {}).get("severity", "error"),
                success=bool(item.success),
                unexpected_count=int(details.get("unexpected_count") or 0),
                element_count=int(details.get("element_count") or len(frame)),
                examples=shown_examples(details.get("partial_unexpected_list") or [], columns),
                unexpected_by_day=_by_day(details, day_column),
            )
        )
    return outcomes


# Data Docs pages load Bootstrap, jQuery, Font Awesome and Vega from CDNs, and GX's logo from S3; a
# report must open offline, and nothing may call the network. Remote scripts and stylesheets go,
# the logo comes from the site's own static/ folder, and a small stylesheet of ours keeps tables
# readable. Links (<a href>) stay: nothing loads them unless clicked.
_REMOTE_ASSET = re.compile(
    r"<(script|link)\b[^>]*\b(src|href)=[\"']https?://[^>]*>(\s*</script>)?", re.IGNORECASE
)
_REMOTE_IMAGE = re.compile(r"(<img\b[^>]*\bsrc=)[\"']https?://[^\"']*[\"']", re.IGNORECASE)
_REMOTE_CSS_URL = re.compile(r"url\(\s*[\"']?https?://[^)]*\)", re.IGNORECASE)
OFFLINE_CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5rem; color: #222; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; }
td, th { border: 1px solid #ccc; padding: 0.25rem 0.5rem; vertical-align: top; text-align: left; }
img { max-height: 3rem; }
"""


def make_offline(docs_dir: Path) -> None:
    """Make every page of the site load only local files.

    Only pages written since the last pass are read: a site kept for years holds a page per
    validation, and every validation of every night calls this.
    """
    styles = docs_dir / "static" / "styles"
    marker = styles / "offline.css"  # rewritten on every pass: its time is the last pass's
    last_pass = marker.stat().st_mtime_ns if marker.exists() else -1
    styles.mkdir(parents=True, exist_ok=True)
    marker.write_text(OFFLINE_CSS, encoding="utf-8")
    for sheet in styles.glob("*.css"):
        css = sheet.read_text(encoding="utf-8")
        if _REMOTE_CSS_URL.search(css):
            sheet.write_text(_REMOTE_CSS_URL.sub("none", css), encoding="utf-8")
    for page in docs_dir.rglob("*.html"):
        if page.stat().st_mtime_ns < last_pass:
            continue
        html = page.read_text(encoding="utf-8")
        if "offline.css" in html:
            continue
        up = "../" * (len(page.relative_to(docs_dir).parts) - 1)
        link = f'<link rel="stylesheet" href="{up}static/styles/offline.css">'
        html = _REMOTE_ASSET.sub("", html).replace("</head>", f"{link}\n</head>", 1)
        html = _REMOTE_IMAGE.sub(rf'\1"{up}static/images/logo-long.png"', html)
        page.write_text(html, encoding="utf-8")
