"""Typed settings: `loyalty.yml` plus environment, validated once.

Every key has a default, a config names only the sources it has, and an unknown key or a bad
value is rejected with a message naming the key. Paths are relative to the config file, but
those of sources (`sources.*.path`), which are relative to `landing_dir`.
"""

from __future__ import annotations

import os
import re
import zoneinfo
from datetime import date
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from dagster_project.lib.privacy import DEFAULT_KEY_ENV
from dagster_project.lib.rfm import DEFAULT_SEGMENTS, SchemeError, scheme_cells
from dagster_project.lib.sources.generic import GenericFileSpec
from dagster_project.lib.sources.specs import FILE_SOURCES, POS_MEMBERS, POS_TICKETS, SHOPIFY_ORDERS
from dagster_project.plan_settings import PlanSettings
from dagster_project.segment_settings import ExportSegment
from dagster_project.settings_base import Strict

CONFIG_ENV = "LOYALTY_CONFIG"
DEFAULT_CONFIG_NAME = "loyalty.yml"


class ConfigError(Exception):
    """A configuration a user must fix; the message names the file and key."""


class SparkSettings(Strict):
    """Where the warehouse lives when `warehouse.engine` is `spark` (docs/scaling.md)."""

    master: str = Field("local[2]", description="Spark master URL; local[N] runs in this process")
    # A local master keeps its tables (spark.sql.warehouse.dir) and its metastore (Derby) here.
    dir: Path = Path("spark")
    conf: dict[str, str] = Field(
        default_factory=dict, description="Spark settings, e.g. spark.driver.memory: 8g"
    )
    # Parquet files on their way between the DuckDB file and Spark; on a cluster, a folder this
    # machine and every executor see (a shared mount). Default: beside the DuckDB file.
    staging: Path | None = None


class WarehouseSettings(Strict):
    """The DuckDB file always holds ingest's raw tables, quarantine and bookkeeping; with
    `engine: spark` dbt and the CLV build the warehouse on Spark, and the marts, pii and
    analytics they build are copied back into the file for the checks, exports, BI and report."""

    path: Path = Path("warehouse.duckdb")
    engine: Literal["duckdb", "spark"] = "duckdb"
    memory_limit: str | None = Field(None, description="DuckDB memory limit, e.g. '8GB'")
    threads: int | None = Field(None, ge=1)
    # Off: every marts build is whole, as before nightly builds were incremental (a way to rule
    # them out; the results are the same, docs/warehouse.md "Nightly builds").
    incremental_marts: bool = Field(
        True, description="nightly marts builds compute only the transactions that changed"
    )
    spark: SparkSettings = SparkSettings()


class FolderSourceSettings(Strict):
    """A source delivered as one folder per day under `landing_dir`."""

    path: str | None = Field(None, description="folder under landing_dir; default: the layout's")
    enabled: bool = True


class ColumnMapping(Strict):
    """The retailer's column names for the generic transactions source."""

    ordered_at: str
    customer_id: str | None = None
    order_id: str | None = None
    amount: str | None = None
    quantity: str | None = None
    unit_price: str | None = None
    sku: str | None = None
    store_id: str | None = None

    @model_validator(mode="after")
    def _amount_or_quantity_and_price(self) -> ColumnMapping:
        if self.amount is None and (self.quantity is None) != (self.unit_price is None):
            raise ValueError("map both quantity and unit_price (amount = quantity × unit_price)")
        return self

    def mapped(self) -> dict[str, str]:
        """Canonical column → the file's column, for the columns that are mapped."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class GenericSourceSettings(Strict):
    """A flat sales file with the retailer's own column names."""

    path: str = Field(description="glob, relative to landing_dir (or absolute)")
    format: Literal["csv", "parquet"] | None = None
    columns: ColumnMapping
    delimiter: str | None = Field(None, description="CSV delimiter; detected when absent")
    timestamp_format: str | None = Field(
        None, description="strptime format of ordered_at when it is not ISO, e.g. '%d/%m/%Y %H:%M'"
    )
    channel: Literal["store", "online"] = "store"

    def file_spec(self) -> GenericFileSpec:
        """Where the files are and how their columns map, as the loader takes it."""
        return GenericFileSpec(
            pattern=self.path,
            columns=self.columns.mapped(),
            format=self.format,
            delimiter=self.delimiter,
            timestamp_format=self.timestamp_format,
        )


class DatabaseTableSettings(Strict):
    """One POS table (or a query) of the database source."""

    table: str | None = Field(None, description="schema.table in the POS database")
    query: str | None = Field(None, description="instead of table: a SELECT giving the columns")
    updated_at_column: str = Field(
        "updated_at", description="timestamp set on every insert and update: the watermark"
    )
    deleted_column: str | None = Field(
        None, description="a flag (true) or timestamp (set) marking a deleted or voided row"
    )
    columns: dict[str, str] = Field(
        default_factory=dict, description="canonical column → the database's, where they differ"
    )

    @model_validator(mode="after")
    def _table_or_query(self) -> DatabaseTableSettings:
        if (self.table is None) == (self.query is None):
            raise ValueError("give either table or query")
        return self


class PosDatabaseSettings(Strict):
    """POS tickets and members read from a relational database instead of landing folders."""

    url_env: str = Field(
        "LOYALTY_POS_DATABASE_URL", description="environment variable holding the database URL"
    )
    overlap_minutes: int = Field(
        10, ge=0, description="re-read changes this far behind the watermark (late commits)"
    )
    tickets: DatabaseTableSettings | None = None
    members: DatabaseTableSettings | None = None

    @model_validator(mode="after")
    def _canonical_columns(self) -> PosDatabaseSettings:
        if self.tickets is None and self.members is None:
            raise ValueError("name tickets, members or both")
        for key, table, source in (
            ("tickets", self.tickets, POS_TICKETS),
            ("members", self.members, POS_MEMBERS),
        ):
            known = [c.name for c in source.columns]
            unknown = sorted(set(table.columns) - set(known)) if table else []
            if unknown:
                raise ValueError(
                    f"{key}.columns: unknown column {unknown[0]!r} (one of {', '.join(known)})"
                )
        return self


# Raw table → its key under sources.pos_database.
DATABASE_TABLE_KEYS = {POS_TICKETS.name: "tickets", POS_MEMBERS.name: "members"}


class SourcesSettings(Strict):
    pos_stores: FolderSourceSettings = FolderSourceSettings()
    pos_tickets: FolderSourceSettings = FolderSourceSettings()
    pos_members: FolderSourceSettings = FolderSourceSettings()
    catalog_products: FolderSourceSettings = FolderSourceSettings()
    shopify_orders: FolderSourceSettings = FolderSourceSettings()
    shopify_customers: FolderSourceSettings = FolderSourceSettings()
    marketing_unsubscribes: FolderSourceSettings = FolderSourceSettings()
    marketing_campaign_activity: FolderSourceSettings = FolderSourceSettings()
    privacy_erasure_requests: FolderSourceSettings = FolderSourceSettings()
    transactions: GenericSourceSettings | None = None
    pos_database: PosDatabaseSettings | None = None

    @model_validator(mode="after")
    def _one_origin_per_table(self) -> SourcesSettings:
        for name, key in DATABASE_TABLE_KEYS.items():
            from_database = self.pos_database and getattr(self.pos_database, key)
            if from_database and name in self.model_fields_set and getattr(self, name).enabled:
                raise ValueError(
                    f"{name} comes from pos_database.{key}: remove sources.{name} "
                    "(or set its enabled: false)"
                )
        return self

    def database_table(self, source_name: str) -> DatabaseTableSettings | None:
        """The database table a raw table is read from, or None when it comes from files."""
        key = DATABASE_TABLE_KEYS.get(source_name)
        return getattr(self.pos_database, key) if self.pos_database and key else None


class TierCutoffs(Strict):
    """Cumulative shares of revenue: the customers who together make the first `gold` of revenue
    (largest spenders first) are gold, up to `silver` silver, up to `bronze` bronze, the rest wood."""

    gold: float = Field(0.5, gt=0, le=1)
    silver: float = Field(0.8, gt=0, le=1)
    bronze: float = Field(0.95, gt=0, le=1)

    @model_validator(mode="after")
    def _increasing(self) -> TierCutoffs:
        if not self.gold < self.silver < self.bronze:
            raise ValueError("cut-offs must increase: gold < silver < bronze")
        return self


class DealSensitivity(Strict):
    """How a customer's deal sensitivity is classified (docs/analytics.md): opportunistic when at
    least `opportunistic_share` of their orders had a coupon or a discount, loyal when under
    `loyal_share`, mixed between; not classified with fewer than `min_orders` orders."""

    min_orders: int = Field(3, ge=1)
    opportunistic_share: float = Field(0.5, gt=0, le=1)
    loyal_share: float = Field(0.2, ge=0, lt=1)

    @model_validator(mode="after")
    def _loyal_below_opportunistic(self) -> DealSensitivity:
        if self.loyal_share >= self.opportunistic_share:
            raise ValueError("loyal_share must be below opportunistic_share")
        return self


class SegmentationSettings(Strict):
    # segment name → rectangles of the R × FM score grid, e.g. {r: "4-5", fm: "4-5"}
    rfm_segments: dict[str, list[dict[str, int | str]]] = Field(
        default_factory=lambda: dict(DEFAULT_SEGMENTS)
    )
    tiers: TierCutoffs = TierCutoffs()
    pareto_top_share: float = Field(0.2, gt=0, lt=1, description="share of top customers")
    profile_min_group_size: int = Field(
        10, ge=1, description="segment profiles leave out groups smaller than this"
    )
    deal_sensitivity: DealSensitivity = DealSensitivity()

    @field_validator("rfm_segments")
    @classmethod
    def _covers_the_grid_once(cls, value: dict) -> dict:
        try:
            scheme_cells(value)
        except SchemeError as error:
            raise ValueError(str(error)) from None
        return value


class LifecycleSettings(Strict):
    """Thresholds of the lifecycle stages; gaps are multiples of the customer's own rhythm (their
    average days between purchases, or the median rhythm of repeat buyers for one-time buyers)."""

    new_days: int = Field(90, ge=1, description="a first purchase this recent makes a customer new")
    active_gaps: float = Field(
        1.5, gt=0, description="active while days since last ≤ this × rhythm"
    )
    at_risk_gaps: float = Field(3.0, gt=0, description="at risk up to this × rhythm, then lapsed")
    min_active_days: int = Field(30, ge=1, description="never less active time than this")
    min_at_risk_days: int = Field(60, ge=1, description="never less at-risk time than this")
    lost_days: int = Field(365, ge=1, description="no purchase for this long: lost")
    at_risk_probability: float = Field(
        0.5, ge=0, le=1, description="active but P(alive) below this: at risk"
    )
    lost_probability: float = Field(0.1, ge=0, le=1, description="P(alive) below this: lost")

    @model_validator(mode="after")
    def _ordered(self) -> LifecycleSettings:
        if not self.active_gaps < self.at_risk_gaps:
            raise ValueError("active_gaps must be below at_risk_gaps")
        if not self.lost_probability < self.at_risk_probability:
            raise ValueError("lost_probability must be below at_risk_probability")
        return self


class ClvSettings(Strict):
    model: Literal["bgnbd", "pareto_nbd", "mbgnbd", "auto"] = "bgnbd"
    time_unit: Literal["D", "W"] = "W"
    holdout_days: int = Field(91, ge=0)
    horizon_days: int = Field(365, ge=1)
    discount_rate: float = Field(0.0, ge=0, lt=1, description="annual discount rate")
    lifetime_horizon_days: int = Field(
        1825, ge=1, description="how far the expected remaining lifetime looks"
    )


class RecommendationSettings(Strict):
    """Cross-selling (docs/analytics.md): the categories each customer is likeliest to buy next
    from what the chain's customers buy together, checked on a holdout against popularity."""

    top_k: int = Field(3, ge=1, le=10, description="categories recommended per customer")
    lookback_days: int = Field(
        365, ge=30, description="the purchases that make a customer's basket history"
    )
    recent_days: int = Field(
        90, ge=1, description="a category bought this recently is not recommended"
    )
    holdout_days: int = Field(
        91, ge=7, description="the last days kept aside to measure the recommendations"
    )

    @model_validator(mode="after")
    def _recent_within_lookback(self) -> RecommendationSettings:
        if self.recent_days > self.lookback_days:
            raise ValueError("recent_days must not exceed lookback_days")
        return self


class MarginSettings(Strict):
    """The value the business keeps (docs/analytics.md): a VAT rate per category for products
    the catalogue gives none, and a gross margin per category (a share of the revenue net of VAT)
    for products it gives no unit cost."""

    vat_rates: dict[str, float] = Field(
        default_factory=dict, description="category → VAT percentage (e.g. 21)"
    )
    category_margins: dict[str, float] = Field(
        default_factory=dict, description="category → gross margin share of net revenue, 0-1"
    )

    @field_validator("vat_rates")
    @classmethod
    def _percentages(cls, value: dict) -> dict:
        for category, rate in value.items():
            if not 0 <= rate < 100:
                raise ValueError(f"{category!r}: a VAT rate is a percentage from 0 to 100")
        return value

    @field_validator("category_margins")
    @classmethod
    def _shares(cls, value: dict) -> dict:
        for category, share in value.items():
            if not 0 <= share <= 1:
                raise ValueError(f"{category!r}: a margin is a share from 0 to 1")
        return value


class ContactsSettings(Strict):
    default_region: str = Field("ES", description="region for phone numbers without +prefix")


class PrivacySettings(Strict):
    key_env: str = DEFAULT_KEY_ENV
    sensitive_categories: tuple[str, ...] = ()
    demo: bool = Field(
        False, description="synthetic data only: allow the documented demo pseudonymisation key"
    )


class ExportsSettings(Strict):
    tools: list[Literal["mailchimp", "klaviyo", "brevo", "hubspot", "generic"]] = Field(
        default_factory=list, description="email tools to write segment files for"
    )
    segments: dict[str, ExportSegment] = Field(default_factory=dict)
    control_share: float = Field(0.1, ge=0, lt=1, description="share held out of each segment")
    campaign_window_days: int = Field(30, ge=1, description="days after an export to measure")
    brevo_delimiter: Literal[";", ","] = ";"
    recommendations: bool = Field(
        False, description="add what to cross-sell (category, subcategory) to the upsert files"
    )

    @field_validator("segments")
    @classmethod
    def _folder_safe_names(cls, value: dict) -> dict:
        return _safe_names(value, "segment")

    @model_validator(mode="after")
    def _sms_segments_have_a_tool_that_sends_sms(self) -> ExportsSettings:
        from dagster_project.lib.exports import SMS_PROFILES  # the profiles, not the settings

        for name, segment in self.segments.items():
            if segment.channel == "sms" and not set(self.tools) & set(SMS_PROFILES):
                raise ValueError(
                    f"segments.{name}.channel: sms needs one of {', '.join(SMS_PROFILES)} "
                    "in exports.tools (the tools that send SMS)"
                )
        return self


def _safe_names(value: dict, what: str) -> dict:
    """Names that can name a folder and a column value: letters, digits, _ and -."""
    for name in value:
        if not name or not all(c.isascii() and (c.isalnum() or c in "_-") for c in name):
            raise ValueError(
                f"{what} name {name!r}: use letters, digits, _ and - (it names a folder)"
            )
    return value


class ScheduleSettings(Strict):
    cron: str = Field("0 6 * * *", description="when the daily run starts, in `timezone`")
    enabled: bool = True


class LandingSensorSettings(Strict):
    """Start a day's run as soon as every expected source has delivered that day's folder."""

    enabled: bool = False
    expect: list[str] = Field(
        default_factory=lambda: ["pos_tickets", "pos_members", "shopify_orders"],
        description="the folder sources that must have a day folder before the day runs",
    )
    interval_seconds: int = Field(300, ge=30, description="how often the folders are looked at")

    @field_validator("expect")
    @classmethod
    def _known_folder_sources(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in _DEFAULT_FOLDERS]
        if unknown:
            raise ValueError(
                f"unknown source {unknown[0]!r} (one of {', '.join(sorted(_DEFAULT_FOLDERS))})"
            )
        if not value:
            raise ValueError("name at least one source to wait for")
        return value


class FreshnessSettings(Strict):
    """How old the marts may get before Dagster shows them late (warn) or stale (fail)."""

    warn_after_hours: float = Field(26, gt=0)
    fail_after_hours: float = Field(36, gt=0)

    @model_validator(mode="after")
    def _warn_before_fail(self) -> FreshnessSettings:
        if self.warn_after_hours >= self.fail_after_hours:
            raise ValueError("warn_after_hours must be less than fail_after_hours")
        return self


class QualitySettings(Strict):
    """How the Great Expectations suites run (docs/quality.md)."""

    # every_check: GX validates every batch and writes each to the Data Docs site. failures: the
    # suites' verdicts are counted by SQL inside DuckDB (the same verdicts, without copying the
    # rows out), and a suite that fails is validated again by GX for its Data Docs page. off: SQL
    # only, no Data Docs.
    data_docs: Literal["every_check", "failures", "off"] = "failures"


class Settings(Strict):
    timezone: str = "Europe/Madrid"
    start_date: date = Field(date(2015, 1, 1), description="first day of the pipeline's history")
    landing_dir: Path = Path("landing")
    warehouse: WarehouseSettings = WarehouseSettings()
    exports_dir: Path = Path("exports")
    reports_dir: Path = Path("reports")
    publish_dir: Path = Field(Path("publish"), description="the read-only copy BI tools read")
    sources: SourcesSettings = SourcesSettings()
    segmentation: SegmentationSettings = SegmentationSettings()
    clv: ClvSettings = ClvSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    recommendations: RecommendationSettings = RecommendationSettings()
    margins: MarginSettings = MarginSettings()
    contacts: ContactsSettings = ContactsSettings()
    privacy: PrivacySettings = PrivacySettings()
    exports: ExportsSettings = ExportsSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    landing_sensor: LandingSensorSettings = LandingSensorSettings()
    freshness: FreshnessSettings = FreshnessSettings()
    quality: QualitySettings = QualitySettings()
    plans: dict[str, PlanSettings] = Field(default_factory=dict)
    # Where the file was read from; paths above are resolved against its folder.
    config_path: Path | None = Field(None, exclude=True)

    @field_validator("plans")
    @classmethod
    def _plan_names(cls, value: dict) -> dict:
        return _safe_names(value, "plan")

    @model_validator(mode="after")
    def _plans_target_known_segments(self) -> Settings:
        for name, plan in self.plans.items():
            segment = plan.targets.segment
            if segment and segment not in self.exports.segments:
                known = ", ".join(self.exports.segments) or "none is configured"
                raise ValueError(
                    f"plans.{name}.targets.segment: {segment!r} is not a segment of "
                    f"exports.segments ({known})"
                )
            if segment and self.exports.segments[segment].channel != plan.channel:
                raise ValueError(
                    f"plans.{name}.channel: {plan.channel}, but exports.segments.{segment} is "
                    f"sent by {self.exports.segments[segment].channel} (set the same channel)"
                )
        return self

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f"unknown timezone {value!r} (use an IANA name such as Europe/Madrid)"
            ) from error
        return value

    @property
    def base_dir(self) -> Path:
        return self.config_path.parent if self.config_path else Path.cwd()

    def resolve(self, path: Path | str) -> Path:
        path = Path(path)
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def landing_path(self) -> Path:
        return self.resolve(self.landing_dir)

    @property
    def warehouse_path(self) -> Path:
        return self.resolve(self.warehouse.path)

    @property
    def spark_dir(self) -> Path:
        return self.resolve(self.warehouse.spark.dir)

    @property
    def spark_staging(self) -> Path:
        staging = self.warehouse.spark.staging
        return self.resolve(staging) if staging else self.warehouse_path.parent / "spark_staging"

    @property
    def dagster_home(self) -> Path:
        return (
            Path(os.environ["DAGSTER_HOME"])
            if os.environ.get("DAGSTER_HOME")
            else self.resolve(".dagster")
        )

    def folder_source_dir(self, source_name: str) -> Path | None:
        """The folder of a day-partitioned source; None when disabled or read from the database."""
        settings: FolderSourceSettings = getattr(self.sources, source_name)
        if not settings.enabled or self.sources.database_table(source_name) is not None:
            return None
        return self.landing_path / (settings.path or _DEFAULT_FOLDERS[source_name])


_DEFAULT_FOLDERS = {s.name: s.landing_path for s in (*FILE_SOURCES, SHOPIFY_ORDERS)}


KEY_IN_MESSAGE = re.compile(r"^[a-z_]+(\.[\w-]+)+: ")


def _format_error(error: ValidationError, origin: str) -> str:
    lines = []
    for item in error.errors():
        key = ".".join(str(part) for part in item["loc"]) or "(top level)"
        if not item["loc"] and KEY_IN_MESSAGE.match(item["msg"].removeprefix("Value error, ")):
            # A check across sections (a model validator) names its key in its message.
            lines.append(f"{origin}: {item['msg'].removeprefix('Value error, ')}")
            continue
        if item["type"] == "extra_forbidden":
            message = "unknown key"
        elif item["type"] == "missing":
            message = "required key is missing"
        else:
            message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{origin}: {key}: {message}")
    return "\n".join(lines)


def settings_from_dict(data: dict[str, Any], config_path: Path | None = None) -> Settings:
    origin = str(config_path) if config_path else "configuration"
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping of keys at the top level")
    try:
        return Settings(**data, config_path=config_path)
    except ValidationError as error:
        raise ConfigError(_format_error(error, origin)) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read and validate a config file (default: $LOYALTY_CONFIG, else ./loyalty.yml)."""
    config_path = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME).resolve()
    if not config_path.exists():
        raise ConfigError(f"{config_path}: config file not found")
    try:
        data = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(
            f"{config_path}:{where} not valid YAML: {getattr(error, 'problem', error)}"
        ) from None
    return settings_from_dict(data, config_path)
