"""Turning a batch of text columns into typed rows, each with the reason it cannot load (if any).

The SQL is generated from the source's column specs: identifiers come from our own specs (or a
user's column mapping, quoted), values never enter the SQL text. The first failing rule names the
row's reason, in this order: a required value missing, a value of the wrong type, a column check
(a negative price…), a row check (an amount that does not add up), a date outside the window,
a duplicate of an earlier record of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import duckdb

from dagster_project.lib.sources.specs import Column, Source
from dagster_project.lib.warehouse import quote_ident

_TYPE_NAMES = {
    "TIMESTAMP": "a timestamp",
    "DATE": "a date",
    "BOOLEAN": "true/false",
    "INTEGER": "an integer",
    "BIGINT": "an integer",
}
# A timestamp that carries its own offset (`Z`, `UTC`, `+01:00`, `+0100`, or `+01` as PostgreSQL
# writes it); converted to local time in the session time zone. A plain cast to timestamp would
# silently drop `UTC` and `+01`. The time before it keeps a date's `-01` from reading as an offset.
_OFFSET_PATTERN = r"\d:\d{2}(:\d{2}(\.\d+)?)? ?(Z|UTC|[+-]\d{2}(:?\d{2})?)$"


@dataclass(frozen=True)
class DateWindow:
    """Plausible event dates: not before `earliest`, not more than a day after the delivery day."""

    column: str
    earliest: str  # ISO date
    # SQL for the latest plausible date; `partition_date + 1` for day folders.
    latest_sql: str = "partition_date + interval 1 day"


def _text(column: str) -> str:
    return f"nullif(trim({quote_ident(column)}), '')"


def typed_expression(column: Column, timestamp_format: str | None = None) -> str:
    """SQL turning the text column into the column's type (null when it does not parse)."""
    text = _text(column.name)
    if column.type == "VARCHAR":
        return text
    if column.type == "TIMESTAMP":
        if timestamp_format:
            fmt = timestamp_format.replace("'", "''")
            return f"try_strptime({text}, '{fmt}')"
        return (
            f"case when regexp_matches({text}, '{_OFFSET_PATTERN}') "
            f"then cast(try_cast({text} as timestamptz) as timestamp) "
            f"else try_cast({text} as timestamp) end"
        )
    return f"try_cast({text} as {column.type})"


def _type_name(column: Column) -> str:
    if column.type.startswith("DECIMAL"):
        return "a number"
    return _TYPE_NAMES.get(column.type, column.type.lower())


def _reason_cases(
    source: Source, columns: Sequence[Column], window: DateWindow | None
) -> list[tuple[str, str, str]]:
    """(condition over the typed row, reason code, detail SQL) in order of precedence."""
    cases: list[tuple[str, str, str]] = []
    for column in columns:
        if column.required:
            cases.append(
                (
                    f"__text_{column.name} is null",
                    "missing_required",
                    f"'{column.name} is empty'",
                )
            )
    for column in columns:
        if column.type != "VARCHAR":
            name = quote_ident(column.name)
            cases.append(
                (
                    f"__text_{column.name} is not null and {name} is null",
                    "bad_type",
                    f"'{column.name} is not {_type_name(column)}: ' || __text_{column.name}",
                )
            )
    for column in columns:
        for condition, reason in column.checks:
            predicate = condition.replace("value", quote_ident(column.name))
            cases.append(
                (
                    f"{quote_ident(column.name)} is not null and not ({predicate})",
                    reason,
                    f"'{column.name} ' || {quote_ident(column.name)}::varchar || "
                    f"' breaks {condition.replace(chr(39), chr(39) * 2)}'",
                )
            )
    for condition, reason, detail in source.row_checks:
        cases.append((f"not coalesce({condition}, true)", reason, f"'{detail}'"))
    if window is not None:
        value = f"cast({quote_ident(window.column)} as date)"
        cases.append(
            (
                f"{value} < date '{window.earliest}' or {value} > {window.latest_sql}",
                "date_out_of_range",
                f"'{window.column} ' || {value}::varchar || ' is outside "
                f"{window.earliest} .. the delivery day'",
            )
        )
    return cases


def create_checked_table(
    con: duckdb.DuckDBPyConnection,
    source: Source,
    text_table: str,
    checked_table: str,
    *,
    columns: Sequence[Column] | None = None,
    window: DateWindow | None = None,
    timestamp_format: str | None = None,
) -> None:
    """Create `checked_table`: lineage, typed columns, `raw_record` and `reason_code`/`_detail`.

    `text_table` holds partition_date, source_file, source_line and one text column per spec
    column. A row with a null `reason_code` loads; the others go to quarantine.
    """
    columns = list(columns or source.columns)
    typed = ", ".join(
        f"{typed_expression(c, timestamp_format if c.type == 'TIMESTAMP' else None)} "
        f"as {quote_ident(c.name)}"
        for c in columns
    )
    texts = ", ".join(f"{_text(c.name)} as __text_{c.name}" for c in columns)
    record = ", ".join(f"'{c.name}', {quote_ident(c.name)}" for c in columns)
    cases = _reason_cases(source, columns, window)
    reason = " ".join(f"when {cond} then '{code}'" for cond, code, _ in cases)
    detail = " ".join(f"when {cond} then {text}" for cond, _, text in cases)
    reason_sql = f"case {reason} end" if cases else "cast(null as varchar)"
    detail_sql = f"case {detail} end" if cases else "cast(null as varchar)"
    con.execute(
        f"""create or replace temp table {checked_table} as
        with typed as (
            select partition_date, source_file, source_line,
                cast(json_object({record}) as varchar) as raw_record,
                {typed}, {texts}
            from {text_table}
        )
        select * exclude ({", ".join(f"__text_{c.name}" for c in columns)}),
            {reason_sql} as reason_code,
            {detail_sql} as reason_detail
        from typed"""
    )
    if source.batch_key:
        _mark_duplicates(con, checked_table, source.batch_key)


def _mark_duplicates(con: duckdb.DuckDBPyConnection, table: str, key: Sequence[str]) -> None:
    """A second copy of a record (same key, same delivery day) is quarantined, the first loads."""
    key_sql = ", ".join(quote_ident(k) for k in key)
    con.execute(
        f"""update {table} as t set
            reason_code = 'duplicate_row',
            reason_detail = 'same ' || '{", ".join(key)}' || ' as ' || d.first_seen
        from (
            select source_file, source_line,
                first_value(source_file || ' line ' || source_line) over w as first_seen,
                row_number() over w as copy_number
            from {table}
            where reason_code is null
            window w as (partition by partition_date, {key_sql} order by source_file, source_line)
        ) as d
        where d.copy_number > 1
            and t.source_file = d.source_file and t.source_line = d.source_line"""
    )
