"""What an erasure cannot reach: the retailer's own landing files.

The pipeline removes an erased person from everything it writes (docs/warehouse.md, "Erasure"),
but the landing folder is the retailer's drop zone, delivered by their systems: the files there
must be purged at the source. This module counts the files that still name an erased person, by
the keyed ids ingest recorded for every row (never by reading or printing who they are).
"""

from __future__ import annotations

from pathlib import Path

import duckdb

# The delivered files that name a person, per kind of id: raw table → its key column.
_FILES_BY_KEY = {
    "card": (("pos_members", "card_key"), ("pos_tickets", "card_key")),
    "shopify": (("shopify_customers", "customer_key"), ("shopify_orders", "customer_key")),
}

_ERASED_SOURCE_KEYS = "select source_system, source_key from pii.erased_identities"


def landing_files_naming_erased(
    con: duckdb.DuckDBPyConnection, landing_dir: Path
) -> tuple[int, int]:
    """How many landing files still on disk hold a row of an erased person, and how many
    erased people they name (0, 0 before the marts are built)."""
    try:
        erased = con.execute(_ERASED_SOURCE_KEYS).fetchall()
        generic = con.execute(
            "select distinct t.source_file, t.customer_key from raw.transactions as t "
            "inner join pii.erased_identities as e "
            "on e.source_system = 'generic' and e.source_key = t.customer_key"
        ).fetchall()
    except duckdb.CatalogException:
        return 0, 0
    by_system: dict[str, set[str]] = {}
    for system, key in erased:
        by_system.setdefault(system, set()).add(key)
    named: dict[str, set[str]] = {}
    for system, tables in _FILES_BY_KEY.items():
        keys = sorted(by_system.get(system, ()))
        if not keys:
            continue
        for table, column in tables:
            rows = con.execute(
                f"select distinct source_file, {column} from raw.{table} "
                f"where {column} in (select unnest($keys))",
                {"keys": keys},
            ).fetchall()
            for source_file, key in rows:
                named.setdefault(source_file, set()).add(f"{system}:{key}")
    for source_file, key in generic:
        named.setdefault(source_file, set()).add(f"generic:{key}")
    present = {f: people for f, people in named.items() if (landing_dir / f).is_file()}
    people = set().union(*present.values()) if present else set()
    return len(present), len(people)
