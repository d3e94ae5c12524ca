"""Shopify JSON Lines: orders (flattened into orders, line items and refund lines) and customers.

Each line is one Shopify Admin API object. A line that is not JSON is quarantined with its text;
the rest are parsed by DuckDB against the subset of Shopify's schema we use, read as text first so
that money strings and ids go through the same typed checks as CSV values.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa

from dagster_project.lib.sources.files import TextFile, day_files, read_text_file
from dagster_project.lib.sources.load import (
    CHECKED_TABLE,
    FILES_TABLE,
    REJECTS_TABLE,
    TEXT_TABLE,
    IngestContext,
    LoadResult,
    create_batch_tables,
    delete_days,
    insert_ingest_log,
    insert_quarantine,
    insert_raw,
    relative_name,
    summarize,
    transaction,
)
from dagster_project.lib.sources.specs import (
    SHOPIFY_CUSTOMERS,
    SHOPIFY_ORDER_LINES,
    SHOPIFY_ORDERS,
    SHOPIFY_REFUND_LINES,
)
from dagster_project.lib.sources.validate import DateWindow, create_checked_table

_TEXT = "VARCHAR"
ORDER_STRUCTURE = {
    **{
        f: _TEXT
        for f in [
            "id",
            "name",
            "email",
            "phone",
            "created_at",
            "updated_at",
            "processed_at",
            "cancelled_at",
            "cancel_reason",
            "financial_status",
            "fulfillment_status",
            "currency",
            "source_name",
            "taxes_included",
            "subtotal_price",
            "total_price",
            "total_discounts",
            "total_tax",
        ]
    },
    "customer": {"id": _TEXT, "email": _TEXT, "phone": _TEXT},
    "discount_codes": [{"code": _TEXT}],
    "line_items": [
        {
            f: _TEXT
            for f in [
                "id",
                "product_id",
                "variant_id",
                "sku",
                "title",
                "quantity",
                "price",
                "total_discount",
            ]
        }
    ],
    "refunds": [
        {
            "id": _TEXT,
            "created_at": _TEXT,
            "refund_line_items": [
                {f: _TEXT for f in ["id", "line_item_id", "quantity", "subtotal", "total_tax"]}
            ],
        }
    ],
}
CUSTOMER_STRUCTURE = {
    **{
        f: _TEXT
        for f in [
            "id",
            "email",
            "phone",
            "first_name",
            "last_name",
            "created_at",
            "updated_at",
            "state",
            "verified_email",
            "tags",
        ]
    },
    "email_marketing_consent": {"state": _TEXT, "opt_in_level": _TEXT, "consent_updated_at": _TEXT},
    "default_address": {"zip": _TEXT, "city": _TEXT, "country_code": _TEXT},
}

JSON_TABLE = "json_batch"


# Lines of several files are checked by one query once they reach this much text: a query per
# file cost about 10 ms, paid by every day of a two-year history, and one batch for the whole
# history would hold all of its text in memory at once.
JSON_BATCH_BYTES = 64 << 20


@dataclass
class _JsonLines:
    """Lines of delivered files waiting to be checked, with the files they come from."""

    days: list[date] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    numbers: list[np.ndarray] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    text_bytes: int = 0

    def add(self, day: date, file: TextFile) -> None:
        """Split on newlines only: a JSON string may hold other line separators (U+2028)."""
        lines = file.text().replace("\r\n", "\n").split("\n")
        self.days.extend([day] * len(lines))
        self.files.extend([file.name] * len(lines))
        self.numbers.append(np.arange(1, len(lines) + 1, dtype=np.int64))
        self.records.extend(lines)
        self.text_bytes += len(file.data)

    def flush(self, con: duckdb.DuckDBPyConnection) -> None:
        """Objects go to the JSON batch; other non-blank lines are rejected with the reason."""
        if not self.records:
            return
        con.register(
            "json_file_lines",
            pa.table(
                {
                    "partition_date": pa.array(self.days, pa.date32()),
                    "source_file": pa.array(self.files, pa.string()),
                    "source_line": pa.array(np.concatenate(self.numbers)),
                    "record": pa.array(self.records, pa.string()),
                }
            ),
        )
        kind = "case when json_valid(record) then json_type(record) end"
        con.execute(
            f"""insert into {JSON_TABLE}
            select partition_date, source_file, source_line, record from json_file_lines
            where {kind} = 'OBJECT'"""
        )
        con.execute(
            f"""insert into {REJECTS_TABLE} by name
            select partition_date, source_file, source_line, record as raw_record,
                case when json_valid(record) then 'not a JSON object' else 'not valid JSON' end
                    as reason_detail
            from json_file_lines
            where trim(record) <> '' and {kind} is distinct from 'OBJECT'"""
        )
        con.unregister("json_file_lines")
        self.days, self.files, self.numbers, self.records = [], [], [], []
        self.text_bytes = 0


def _collect_json_days(
    con: duckdb.DuckDBPyConnection,
    source_dir: Path | None,
    days: Sequence[date],
    pattern: str,
    ctx: IngestContext,
) -> None:
    """Every line of the days' files: JSON objects to the JSON batch, other lines rejected."""
    con.execute(
        f"create or replace temp table {JSON_TABLE} "
        "(partition_date date, source_file varchar, source_line bigint, record varchar)"
    )
    if source_dir is None:
        return
    files: list[tuple[date, str, str]] = []
    pending = _JsonLines()
    for day in days:
        for path in day_files(source_dir, day, pattern):
            file = read_text_file(path, relative_name(path, ctx.landing_dir))
            files.append((day, file.name, file.sha256))
            pending.add(day, file)
            if pending.text_bytes >= JSON_BATCH_BYTES:
                pending.flush(con)
    pending.flush(con)
    if files:
        con.executemany(f"insert into {FILES_TABLE} values (?, ?, ?)", files)


def _structure(structure: dict) -> str:
    return json.dumps(structure).replace("'", "''")


def _mark_wrong_shapes(con: duckdb.DuckDBPyConnection, structure: dict) -> None:
    """Quarantine objects whose nested field is not the list or object it should be.

    `from_json` reads a mismatched field as null: an order whose `line_items` is a string would
    otherwise load with no lines and misstate revenue without a word.
    """
    cases = []
    for key, shape in structure.items():
        if isinstance(shape, list | dict):
            kind = "ARRAY" if isinstance(shape, list) else "OBJECT"
            cases.append(
                f"when json_type(record, '$.{key}') not in ('{kind}', 'NULL') "
                f"then '{key} is not a JSON {kind.lower()}'"
            )
    con.execute(
        f"""update {CHECKED_TABLE} as c set reason_code = 'bad_type', reason_detail = j.problem
        from (
            select source_file, source_line, case {" ".join(cases)} end as problem
            from {JSON_TABLE}
        ) as j
        where c.reason_code is null and j.problem is not null
            and c.source_file = j.source_file and c.source_line = j.source_line"""
    )


def _days(start: date, end: date) -> list[date]:
    return [date.fromordinal(d) for d in range(start.toordinal(), end.toordinal() + 1)]


def load_shopify_orders(
    con: duckdb.DuckDBPyConnection,
    source_dir: Path | None,
    start: date,
    end: date,
    ctx: IngestContext,
) -> LoadResult:
    """Load order files of [start, end] into orders, order lines and refund lines.

    An order whose line items or refunds do not pass their checks is quarantined whole: half an
    order would misstate revenue.
    """
    create_batch_tables(con, [c.name for c in SHOPIFY_ORDERS.columns])
    _collect_json_days(con, source_dir, _days(start, end), SHOPIFY_ORDERS.file_glob, ctx)
    con.execute(
        f"""create or replace temp table parsed_orders as
        select partition_date, source_file, source_line,
            from_json(record, '{_structure(ORDER_STRUCTURE)}') as o
        from {JSON_TABLE}"""
    )
    con.execute(
        f"""insert into {TEXT_TABLE}
        select partition_date, source_file, source_line,
            o.id, o.name, o.email, o.created_at, o.updated_at, o.processed_at, o.cancelled_at,
            o.cancel_reason, o.financial_status, o.fulfillment_status, o.currency, o.source_name,
            o.taxes_included, o.subtotal_price, o.total_price, o.total_discounts, o.total_tax,
            o.customer.id, o.customer.email, o.customer.phone,
            nullif(array_to_string(list_transform(o.discount_codes, lambda d: d.code), ','), '')
        from parsed_orders"""
    )
    con.execute(
        """create or replace temp table text_lines as
        select partition_date, source_file, source_line,
            o.id as order_id, o.updated_at as order_updated_at,
            li.id as line_item_id, li.product_id, li.variant_id, li.sku, li.title,
            li.quantity, li.price, li.total_discount
        from parsed_orders, unnest(o.line_items) as t(li)"""
    )
    con.execute(
        """create or replace temp table text_refunds as
        select partition_date, source_file, source_line,
            o.id as order_id, o.updated_at as order_updated_at,
            r.id as refund_id, r.created_at as refunded_at,
            rl.id as refund_line_item_id, rl.line_item_id, rl.quantity, rl.subtotal, rl.total_tax
        from parsed_orders, unnest(o.refunds) as t(r), unnest(r.refund_line_items) as u(rl)"""
    )
    window = DateWindow("created_at", ctx.history_start.isoformat())
    create_checked_table(con, SHOPIFY_ORDERS, TEXT_TABLE, CHECKED_TABLE, window=window)
    create_checked_table(con, SHOPIFY_ORDER_LINES, "text_lines", "checked_lines")
    create_checked_table(con, SHOPIFY_REFUND_LINES, "text_refunds", "checked_refunds")
    _mark_wrong_shapes(con, ORDER_STRUCTURE)
    # A bad line or refund line quarantines its order (the first reason found is reported).
    con.execute(
        f"""update {CHECKED_TABLE} as o set
            reason_code = bad.reason_code,
            reason_detail = bad.part || ': ' || bad.reason_detail
        from (
            select source_file, source_line,
                arg_min(reason_code, part) as reason_code,
                arg_min(reason_detail, part) as reason_detail,
                min(part) as part
            from (
                select source_file, source_line, reason_code, reason_detail, 'line_items' as part
                from checked_lines where reason_code is not null
                union all
                select source_file, source_line, reason_code, reason_detail, 'refunds' as part
                from checked_refunds where reason_code is not null
            )
            group by all
        ) as bad
        where o.reason_code is null
            and o.source_file = bad.source_file and o.source_line = bad.source_line"""
    )
    # Refunds beyond the merchandise paid would net the order below zero: a wrong amount, or a
    # refund attached to the wrong order. Quarantined, not guessed at.
    con.execute(
        f"""update {CHECKED_TABLE} as o set
            reason_code = 'refund_exceeds_order',
            reason_detail = 'refund line subtotals ' || r.refunded::varchar
                || ' exceed subtotal_price ' || o.subtotal_price::varchar
        from (
            select source_file, source_line, sum(subtotal) as refunded
            from checked_refunds group by all
        ) as r
        where o.reason_code is null and r.refunded > o.subtotal_price + 0.01
            and o.source_file = r.source_file and o.source_line = r.source_line"""
    )
    loaded_orders = (
        f"exists (select 1 from {CHECKED_TABLE} as o where o.reason_code is null "
        "and o.source_file = c.source_file and o.source_line = c.source_line)"
    )
    tables = ("raw.shopify_orders", "raw.shopify_order_lines", "raw.shopify_refund_lines")
    with transaction(con):
        delete_days(con, SHOPIFY_ORDERS.name, (*tables, "quarantine.shopify_orders"), start, end)
        insert_raw(con, SHOPIFY_ORDERS, CHECKED_TABLE, ctx)
        insert_raw(con, SHOPIFY_ORDER_LINES, "checked_lines", ctx, where=loaded_orders)
        insert_raw(con, SHOPIFY_REFUND_LINES, "checked_refunds", ctx, where=loaded_orders)
        insert_quarantine(con, SHOPIFY_ORDERS.name, CHECKED_TABLE)
        insert_ingest_log(
            con, SHOPIFY_ORDERS.name, "raw.shopify_orders", "quarantine.shopify_orders", start, end
        )
    return summarize(con, SHOPIFY_ORDERS.name, "quarantine.shopify_orders", start, end)


def load_shopify_customers(
    con: duckdb.DuckDBPyConnection,
    source_dir: Path | None,
    start: date,
    end: date,
    ctx: IngestContext,
) -> LoadResult:
    """Load customer files of [start, end], flattening consent and default address."""
    create_batch_tables(con, [c.name for c in SHOPIFY_CUSTOMERS.columns])
    _collect_json_days(con, source_dir, _days(start, end), SHOPIFY_CUSTOMERS.file_glob, ctx)
    con.execute(
        f"""insert into {TEXT_TABLE}
        with parsed as (
            select partition_date, source_file, source_line,
                from_json(record, '{_structure(CUSTOMER_STRUCTURE)}') as c
            from {JSON_TABLE}
        )
        select partition_date, source_file, source_line,
            c.id, c.email, c.phone, c.first_name, c.last_name, c.created_at, c.updated_at,
            c.state, c.verified_email, c.tags,
            c.email_marketing_consent.state, c.email_marketing_consent.opt_in_level,
            c.email_marketing_consent.consent_updated_at,
            c.default_address.zip, c.default_address.city, c.default_address.country_code
        from parsed"""
    )
    create_checked_table(con, SHOPIFY_CUSTOMERS, TEXT_TABLE, CHECKED_TABLE)
    _mark_wrong_shapes(con, CUSTOMER_STRUCTURE)
    raw, quarantine = "raw.shopify_customers", "quarantine.shopify_customers"
    with transaction(con):
        delete_days(con, SHOPIFY_CUSTOMERS.name, (raw, quarantine), start, end)
        insert_raw(con, SHOPIFY_CUSTOMERS, CHECKED_TABLE, ctx)
        insert_quarantine(con, SHOPIFY_CUSTOMERS.name, CHECKED_TABLE)
        insert_ingest_log(con, SHOPIFY_CUSTOMERS.name, raw, quarantine, start, end)
    return summarize(con, SHOPIFY_CUSTOMERS.name, quarantine, start, end)
