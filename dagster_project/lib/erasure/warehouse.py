"""Redacting an erased person's delivered rows in `raw` and `quarantine`.

After each build, every row of `raw` that belongs to an erased person (by the keyed ids of
`pii.erased_identities`, or an opt-out of one of their addresses) loses its personal values; the
keyed hashes stay, so identity resolution, the erasure itself and every aggregate of the past come
out the same on the next build (docs/warehouse.md, "Erasure"). Erasure requests keep their keyed
hashes only. A quarantined record that names an erased person (by a keyed id of one of its
fields, or, for a record that is not even readable, by one of their values in its text) loses its
text and detail; its reason and lineage stay, so the ingest counts still reconcile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import duckdb
import pyarrow as pa

from dagster_project.lib import contacts
from dagster_project.lib.privacy import keyed_hash


@dataclass(frozen=True)
class Redaction:
    """What an erasure removes from one raw table: the rows whose `key_column` holds a keyed id
    of kind `key_kind` of an erased person lose `nulled`; `emptied` become an empty string."""

    table: str
    key_column: str
    key_kind: str
    nulled: tuple[str, ...]
    # Delivered addresses and numbers: which record's address counts is decided on one being
    # delivered (int_shopify_customers_unioned), so an empty string keeps that decision.
    emptied: tuple[str, ...] = ()

    @property
    def columns(self) -> tuple[str, ...]:
        return self.nulled + self.emptied


RAW_REDACTIONS: tuple[Redaction, ...] = (
    Redaction(
        "pos_members",
        "card_key",
        "card",
        nulled=(
            "card_id",
            "first_name",
            "last_name",
            "birth_date",
            "email_normalized",
            "phone_e164",
            "postal_code",
            "marital_status",
        ),
        emptied=("email", "phone"),
    ),
    Redaction("pos_tickets", "card_key", "card", nulled=("card_id",)),
    Redaction(
        "shopify_customers",
        "customer_key",
        "shopify",
        nulled=(
            "customer_id",
            "first_name",
            "last_name",
            "email_normalized",
            "phone_e164",
            "tags",
            "default_address_zip",
            "default_address_city",
        ),
        emptied=("email", "phone"),
    ),
    Redaction(
        "shopify_orders",
        "customer_key",
        "shopify",
        nulled=("customer_id", "email", "customer_email_normalized", "customer_phone_e164"),
        emptied=("customer_email", "customer_phone"),
    ),
    Redaction("transactions", "customer_key", "generic", nulled=("customer_id",)),
    Redaction("marketing_unsubscribes", "email_key", "email", nulled=("email", "email_normalized")),
    Redaction(
        "marketing_campaign_activity", "email_key", "email", nulled=("email", "email_normalized")
    ),
)
# A request is kept as its keyed hashes only, whoever it names: enough to erase the person
# again if a source delivers them again, and nothing to read.
REQUEST_REDACTION = Redaction(
    "privacy_erasure_requests",
    "request_id",
    "request",
    nulled=("card_id", "shopify_customer_id", "email", "email_normalized"),
)

# The fields of a quarantined record (JSON of the delivered columns, or the Shopify object) that
# name a person, by the kind of keyed id they are hashed to.
QUARANTINE_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "pos_members": (("card", "$.card_id"), ("email", "$.email"), ("phone", "$.phone")),
    "pos_tickets": (("card", "$.card_id"),),
    "shopify_customers": (("shopify", "$.id"), ("email", "$.email"), ("phone", "$.phone")),
    "shopify_orders": (
        ("shopify", "$.customer.id"),
        ("email", "$.email"),
        ("email", "$.customer.email"),
        ("phone", "$.phone"),
        ("phone", "$.customer.phone"),
    ),
    "marketing_unsubscribes": (("email", "$.email"),),
    "marketing_campaign_activity": (("email", "$.email"),),
    "transactions": (("generic", "$.customer_id"),),
}
# Values shorter than this are not looked for in unreadable records' text: a short card number
# would match inside dates and amounts of unrelated records.
MIN_TEXT_MATCH = 6


@dataclass
class ErasureCounts:
    """What one pass redacted (counts only)."""

    people: int = 0
    raw_rows: dict[str, int] = field(default_factory=dict)
    quarantine_rows: dict[str, int] = field(default_factory=dict)
    # The first and last day (partition_date) of the raw rows redacted, if any: what a copy of
    # raw elsewhere (the warehouse on Spark) must take again.
    raw_days: tuple[date, date] | None = None

    @property
    def total(self) -> int:
        return sum(self.raw_rows.values()) + sum(self.quarantine_rows.values())


_ERASED_KEYS_SQL = """
create or replace temp table erased_keys as
with people as (
    select source_system as key_kind, source_key as key from pii.erased_identities
),
requests as (
    select 'card' as key_kind, card_key as key from raw.privacy_erasure_requests
    union all
    select 'shopify', shopify_customer_key from raw.privacy_erasure_requests
    union all
    select 'email', email_key from raw.privacy_erasure_requests
),
-- Every address and number the people delivered, in any version of their records.
contact_keys as (
    select 'email' as key_kind, m.email_key as key from raw.pos_members as m
    where m.card_key in (select key from people where key_kind = 'card')
    union all
    select 'phone', m.phone_key from raw.pos_members as m
    where m.card_key in (select key from people where key_kind = 'card')
    union all
    select 'email', c.email_key from raw.shopify_customers as c
    where c.customer_key in (select key from people where key_kind = 'shopify')
    union all
    select 'phone', c.phone_key from raw.shopify_customers as c
    where c.customer_key in (select key from people where key_kind = 'shopify')
    union all
    select 'email', o.customer_email_key from raw.shopify_orders as o
    where o.customer_key in (select key from people where key_kind = 'shopify')
    union all
    select 'phone', o.customer_phone_key from raw.shopify_orders as o
    where o.customer_key in (select key from people where key_kind = 'shopify')
)
select distinct key_kind, key from (
    select * from people union all select * from requests union all select * from contact_keys
)
where key is not null
"""


def _erased_rows(redaction: Redaction) -> str:
    """Rows of the redaction's table that belong to an erased person and still hold a value."""
    key_match = (
        "true"
        if redaction.key_kind == "request"
        else f"{redaction.key_column} in "
        f"(select key from erased_keys where key_kind = '{redaction.key_kind}')"
    )
    holding = " or ".join(
        f"({column} is not null and cast({column} as varchar) <> '')"
        for column in redaction.columns
    )
    return f"{key_match} and ({holding})"


def _clear_values(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The values the erased people's rows still hold in clear (before they are redacted), to
    find their unreadable quarantined records by text."""
    values: set[str] = set()
    for redaction in (*RAW_REDACTIONS, REQUEST_REDACTION):
        wanted = [c for c in redaction.columns if c not in ("first_name", "last_name", "tags")]
        selects = " union ".join(
            f"select cast({column} as varchar) from raw.{redaction.table} "
            f"where {_erased_rows(redaction)}"
            for column in wanted
        )
        values |= {v for (v,) in con.execute(selects).fetchall() if v}
    return sorted(v for v in values if len(v) >= MIN_TEXT_MATCH)


def _key_functions(pseudonym_key: str, default_region: str) -> dict[str, Callable]:
    """Each kind of keyed id, computed from a delivered value as ingest computes it."""

    def hashed(namespace: str, normal: Callable[[str], str | None]) -> Callable:
        def key(value: str) -> str | None:
            normal_form = normal(value)
            return keyed_hash(normal_form, pseudonym_key, namespace) if normal_form else None

        return key

    return {
        "card": hashed("card", str.strip),
        "shopify": hashed("shopify", str.strip),
        "generic": hashed("generic", str.strip),
        "email": hashed("email", contacts.normalize_email),
        "phone": hashed("phone", lambda value: contacts.phone_e164(value, default_region)),
    }


def _json_field(record: str, path: str) -> str:
    """A field of a JSON record; null for a record that is not JSON (SQL may evaluate both sides
    of an `and`, so the check is inside the expression)."""
    return f"case when json_valid({record}) then json_extract_string({record}, '{path}') end"


def _register_field_keys(
    con: duckdb.DuckDBPyConnection, fields: tuple[tuple[str, str], ...], key_functions: dict
) -> None:
    """Register `quarantine_keys` (kind, value, key): each distinct identifying value in the
    quarantined records and its keyed id, computed as ingest computes it."""
    selects = " union all ".join(
        f"select '{kind}' as kind, {_json_field('raw_record', path)} as value "
        "from quarantine_candidates"
        for kind, path in fields
    )
    values = []
    if fields:
        values = con.execute(
            f"select distinct kind, value from ({selects}) where value is not null"
        ).fetchall()
    keyed = [(kind, value, key_functions[kind](value)) for kind, value in values]
    con.register(
        "quarantine_keys",
        pa.table(
            {
                "kind": pa.array([k for k, _, _ in keyed], pa.string()),
                "value": pa.array([v for _, v, _ in keyed], pa.string()),
                "key": pa.array([h for _, _, h in keyed], pa.string()),
            }
        ),
    )


def _redact_quarantine(
    con: duckdb.DuckDBPyConnection,
    table: str,
    key_functions: dict[str, Callable],
    clear_values: list[str],
) -> int:
    """Redact the quarantined records of `table` that name an erased person: by a keyed id of
    one of their identifying fields, or (a record that is not JSON) by an erased value in its
    text. Every quarantined erasure request is redacted: it names someone who asked to go."""
    con.execute(
        "create or replace temp table quarantine_candidates as "
        f"select rowid as row_id, raw_record from quarantine.{table} where raw_record is not null"
    )
    if table == REQUEST_REDACTION.table:
        matched_sql = "select row_id from quarantine_candidates"
    else:
        fields = QUARANTINE_FIELDS.get(table, ())
        _register_field_keys(con, fields, key_functions)
        con.register("clear_values", pa.table({"value": pa.array(clear_values, pa.string())}))
        by_key = " or ".join(
            f"{_json_field('c.raw_record', path)} in ("
            "select q.value from quarantine_keys as q inner join erased_keys as e "
            f"on e.key_kind = q.kind and e.key = q.key where q.kind = '{kind}')"
            for kind, path in fields
        )
        matched_sql = (
            "select c.row_id from quarantine_candidates as c where "
            f"({by_key or 'false'}) or (not json_valid(c.raw_record) and exists ("
            "select 1 from clear_values as v where contains(c.raw_record, v.value)))"
        )
    (count,) = con.execute(
        f"update quarantine.{table} set raw_record = null, reason_detail = null "
        f"where rowid in ({matched_sql})"
    ).fetchone()
    if table != REQUEST_REDACTION.table:
        con.unregister("quarantine_keys")
        con.unregister("clear_values")
    return int(count)


def redact_erased(
    con: duckdb.DuckDBPyConnection, pseudonym_key: str, default_region: str = "ES"
) -> ErasureCounts:
    """Redact every erased person's values in raw and quarantine (see the module docstring).

    Needs `pii.erased_identities` (built by dbt); a second pass changes nothing.
    """
    counts = ErasureCounts()
    con.execute(_ERASED_KEYS_SQL)
    (counts.people,) = con.execute(
        "select count(distinct customer_key) from pii.erased_identities"
    ).fetchone()
    clear_values = _clear_values(con)
    key_functions = _key_functions(pseudonym_key, default_region)
    con.execute("begin")
    try:
        for redaction in (*RAW_REDACTIONS, REQUEST_REDACTION):
            assignments = [f"{column} = null" for column in redaction.nulled] + [
                f"{column} = case when {column} is null then null else '' end"
                for column in redaction.emptied
            ]
            changed = con.execute(
                f"update raw.{redaction.table} set {', '.join(assignments)} "
                f"where {_erased_rows(redaction)} returning partition_date"
            ).fetchall()
            counts.raw_rows[redaction.table] = len(changed)
            days = [day for (day,) in changed if day is not None]
            if days:
                span = counts.raw_days or (min(days), max(days))
                counts.raw_days = (min(span[0], *days), max(span[1], *days))
        quarantine_tables = [
            name
            for (name,) in con.execute(
                "select table_name from information_schema.tables "
                "where table_schema = 'quarantine' order by 1"
            ).fetchall()
        ]
        (erased_keys,) = con.execute("select count(*) from erased_keys").fetchone()
        for table in quarantine_tables:
            # With no one erased, only the requests' own records are left to redact.
            if erased_keys or table == REQUEST_REDACTION.table:
                counts.quarantine_rows[table] = _redact_quarantine(
                    con, table, key_functions, clear_values
                )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    return counts
