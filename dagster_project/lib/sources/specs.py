"""What each landing source delivers and what its raw table holds.

One place describes every source: the columns a file must have, their types, which are required,
and which raw table the rows land in. Ingest, the synthetic generator, the docs and the tests all
read these specs, so a column is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Columns every raw and quarantine table carries, so any row can be traced to its file and line.
# `source_line` is the physical line the record starts on: the header is line 1, the first record
# line 2 (for JSON Lines, the first object is line 1). Blank lines are not records, and a record
# whose quoted field holds a newline spans several lines, so in such files it is not the record's
# position.
LINEAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("partition_date", "DATE"),
    ("source_file", "VARCHAR"),
    ("source_line", "BIGINT"),
)

Derivation = Literal[
    "keyed_hash",
    "email_normalized",
    "email_is_valid",
    "email_key",
    "phone_e164",
    "phone_key",
    "campaign_event",
]


@dataclass(frozen=True)
class Column:
    """A column of a landing file and of the raw table it lands in."""

    name: str
    type: str
    required: bool = False
    description: str = ""
    # Checks beyond the type, as SQL over the typed column `value`; a row failing one is
    # quarantined with `reason`.
    checks: tuple[tuple[str, str], ...] = ()
    # Other header names the column is recognised by (case-insensitive), so that a tool's own
    # export lands as it comes: Mailchimp's "Email Address" is our `email`.
    aliases: tuple[str, ...] = ()

    @property
    def header_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class DerivedColumn:
    """A raw column computed at ingest from a landing column (normalised contacts, keyed ids)."""

    name: str
    type: str
    derivation: Derivation
    from_column: str
    # Namespace for keyed hashes, so a card "123" and a Shopify customer "123" differ.
    namespace: str = ""
    description: str = ""


@dataclass(frozen=True)
class Source:
    """A landing source: one folder per day of files in one format, landing in `raw.<name>`."""

    name: str
    landing_path: str
    format: Literal["csv", "jsonl"]
    description: str
    columns: tuple[Column, ...]
    # Columns that identify a record within one day's batch; a second copy is quarantined.
    batch_key: tuple[str, ...]
    derived: tuple[DerivedColumn, ...] = ()
    file_glob: str = "*.csv"
    # Checks across columns: (SQL over the typed row that must hold, reason, detail).
    row_checks: tuple[tuple[str, str, str], ...] = ()
    # The column that dates the record; it must fall in the pipeline's history window.
    event_column: str | None = None

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def raw_columns(self) -> list[tuple[str, str]]:
        """Name and type of every column of `raw.<name>`, in order."""
        return (
            list(LINEAGE_COLUMNS)
            + [(c.name, c.type) for c in self.columns]
            + [(d.name, d.type) for d in self.derived]
        )


MONEY = "DECIMAL(18,2)"
NON_NEGATIVE = (("value >= 0", "negative_amount"),)


def _keyed(name: str, from_column: str, namespace: str) -> DerivedColumn:
    return DerivedColumn(
        name,
        "VARCHAR",
        "keyed_hash",
        from_column,
        namespace,
        f"pseudonymous key of `{from_column}` (keyed hash)",
    )


def _email_columns(from_column: str = "email", prefix: str = "") -> tuple[DerivedColumn, ...]:
    return (
        DerivedColumn(
            f"{prefix}email_normalized",
            "VARCHAR",
            "email_normalized",
            from_column,
            description="lower-cased, trimmed address when syntactically valid, else null",
        ),
        DerivedColumn(
            f"{prefix}is_email_valid",
            "BOOLEAN",
            "email_is_valid",
            from_column,
            description="the address is syntactically valid (email-validator, no DNS lookup)",
        ),
    )


def _contact_keys(
    email: str | None = "email", phone: str | None = "phone", prefix: str = ""
) -> tuple[DerivedColumn, ...]:
    """Keyed hashes of the normalised address and phone number: what links a card to an online
    account, an unsubscribe or an erasure request to a person, and what stays when an erasure
    removes the address and the number themselves (docs/warehouse.md, "Erasure")."""
    keys = []
    if email:
        keys.append(
            DerivedColumn(
                f"{prefix}email_key",
                "VARCHAR",
                "email_key",
                email,
                "email",
                "keyed hash of the normalised address (null when invalid)",
            )
        )
    if phone:
        keys.append(
            DerivedColumn(
                f"{prefix}phone_key",
                "VARCHAR",
                "phone_key",
                phone,
                "phone",
                "keyed hash of the E.164 number (null when it does not parse)",
            )
        )
    return tuple(keys)


def _phone_column(from_column: str = "phone", prefix: str = "") -> DerivedColumn:
    return DerivedColumn(
        f"{prefix}phone_e164",
        "VARCHAR",
        "phone_e164",
        from_column,
        description="the number in E.164 (+34…), parsed with the configured default region",
    )


POS_TICKETS = Source(
    name="pos_tickets",
    landing_path="pos/tickets",
    format="csv",
    description="POS ticket lines; a return is a line with negative quantity on its own ticket.",
    columns=(
        Column("ticket_id", "VARCHAR", True, "ticket number, unique across stores"),
        Column("line_number", "INTEGER", True, "line within the ticket, from 1"),
        Column("store_id", "VARCHAR", True, "store that sold"),
        Column("sold_at", "TIMESTAMP", True, "local time of sale, YYYY-MM-DD HH:MM:SS"),
        Column("card_id", "VARCHAR", False, "loyalty card number; empty for anonymous tickets"),
        Column("sku", "VARCHAR", True, "product code (catalogue `sku`)"),
        Column(
            "quantity",
            "INTEGER",
            True,
            "units; negative on a return line",
            (("value <> 0", "zero_quantity"),),
        ),
        Column("unit_price", MONEY, True, "price per unit, VAT included", NON_NEGATIVE),
        Column("discount_amount", MONEY, False, "line discount (coupon or promotion)"),
        Column(
            "line_amount",
            MONEY,
            True,
            "what the line charged: quantity × unit_price − discount_amount",
        ),
        Column("coupon_code", "VARCHAR", False, "coupon redeemed on the ticket"),
        Column("original_ticket_id", "VARCHAR", False, "on a return: the ticket it returns"),
    ),
    batch_key=("ticket_id", "line_number"),
    derived=(_keyed("card_key", "card_id", "card"),),
    row_checks=(
        (
            # Widened first: a giant quantity times a giant price overflows DECIMAL(18,2).
            "abs(cast(quantity as decimal(38,2)) * unit_price - coalesce(discount_amount, 0)"
            " - line_amount) <= 0.01",
            "amount_mismatch",
            "line_amount is not quantity x unit_price - discount_amount",
        ),
    ),
    event_column="sold_at",
)

POS_MEMBERS = Source(
    name="pos_members",
    landing_path="pos/members",
    format="csv",
    description=(
        "Loyalty-card enrolments and changes: each row is the member's full record as of "
        "`updated_at`; the latest row per card wins."
    ),
    columns=(
        Column("card_id", "VARCHAR", True, "loyalty card number"),
        Column("enrolled_on", "DATE", True, "day the card was issued"),
        Column("updated_at", "TIMESTAMP", True, "local time of this version of the record"),
        Column("first_name", "VARCHAR"),
        Column("last_name", "VARCHAR"),
        Column("birth_date", "DATE"),
        Column("email", "VARCHAR", False, "as typed on the form"),
        Column("phone", "VARCHAR", False, "as typed on the form"),
        Column("postal_code", "VARCHAR", False, "five digits, leading zeros kept"),
        Column("marital_status", "VARCHAR", False, "single, married, divorced, widowed, unknown"),
        Column("home_store_id", "VARCHAR", False, "store where the card was issued"),
        Column("email_opt_in", "BOOLEAN", False, "consents to marketing email (true/false)"),
        Column("sms_opt_in", "BOOLEAN", False, "consents to marketing SMS (true/false)"),
    ),
    batch_key=("card_id", "updated_at"),
    derived=(
        _keyed("card_key", "card_id", "card"),
        *_email_columns(),
        _phone_column(),
        *_contact_keys(),
    ),
)

POS_STORES = Source(
    name="pos_stores",
    landing_path="pos/stores",
    format="csv",
    description="Store master; the latest delivery per store wins.",
    columns=(
        Column("store_id", "VARCHAR", True),
        Column("store_name", "VARCHAR", True),
        Column("city", "VARCHAR"),
        Column("province", "VARCHAR"),
        Column("postal_code", "VARCHAR"),
        Column("opened_on", "DATE"),
    ),
    batch_key=("store_id",),
)

CATALOG_PRODUCTS = Source(
    name="catalog_products",
    landing_path="catalog/products",
    format="csv",
    description="Product catalogue snapshot; the latest delivery per SKU wins.",
    columns=(
        Column("sku", "VARCHAR", True),
        Column("product_name", "VARCHAR", True),
        Column("category", "VARCHAR", True),
        Column("subcategory", "VARCHAR"),
        Column("brand", "VARCHAR"),
        Column(
            "is_prescription",
            "BOOLEAN",
            True,
            "a prescription (health-revealing) product: never used for marketing",
        ),
        Column("list_price", MONEY, False, "shelf price, VAT included", NON_NEGATIVE),
        Column("vat_rate", "DECIMAL(5,2)", False, "VAT percentage: 4, 10 or 21"),
        Column("is_active", "BOOLEAN", False, "still sold"),
        Column(
            "unit_cost",
            MONEY,
            False,
            "what one unit costs the chain, VAT excluded: gives the margin",
            NON_NEGATIVE,
        ),
    ),
    batch_key=("sku",),
)

MARKETING_UNSUBSCRIBES = Source(
    name="marketing_unsubscribes",
    landing_path="marketing/unsubscribes",
    format="csv",
    description="Opt-outs reported back by the email tools; they win over older consents.",
    columns=(
        Column("email", "VARCHAR", True),
        Column("unsubscribed_at", "TIMESTAMP", True),
        Column("source_tool", "VARCHAR", False, "mailchimp, klaviyo, brevo, hubspot"),
        Column("reason", "VARCHAR"),
    ),
    batch_key=("email", "unsubscribed_at"),
    derived=(*_email_columns(), *_contact_keys(phone=None)),
)

# What the email tools report per address and campaign, in their own words (lower-cased and
# trimmed before the look-up) → ours. Ours: sent, delivered, opened, clicked, bounced.
# Mailchimp's email-activity actions are open, click and bounce (a sent list is its own report);
# Klaviyo's email metrics are named "Received Email", "Opened Email" and so on. A dropped message
# (Klaviyo did not send it, the address suppressed) reached nobody, like a bounce.
CAMPAIGN_EVENTS: dict[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "opened": "opened",
    "clicked": "clicked",
    "bounced": "bounced",
    "open": "opened",
    "click": "clicked",
    "bounce": "bounced",
    "hard_bounce": "bounced",
    "soft_bounce": "bounced",
    "received email": "delivered",
    "opened email": "opened",
    "clicked email": "clicked",
    "bounced email": "bounced",
    "dropped email": "bounced",
}
_EVENT_NAMES = ", ".join("'" + name.replace("'", "''") + "'" for name in CAMPAIGN_EVENTS)

MARKETING_CAMPAIGN_ACTIVITY = Source(
    name="marketing_campaign_activity",
    landing_path="marketing/campaign_activity",
    format="csv",
    description=(
        "What the email tools report per address and campaign (sent, delivered, opened, "
        "clicked, bounced): what makes a segment file's treated member one who received it."
    ),
    columns=(
        Column(
            "email", "VARCHAR", True, "the address the tool sent to", aliases=("email address",)
        ),
        Column(
            "campaign",
            "VARCHAR",
            True,
            "the export segment's name (the file the audience came from)",
            aliases=("campaign name", "campaign_name", "campaign title"),
        ),
        Column(
            "event",
            "VARCHAR",
            True,
            "sent, delivered, opened, clicked, bounced, or the tool's own word for one "
            "(Mailchimp: open, click, bounce; Klaviyo: Received Email, Opened Email, Clicked Email, "
            "Bounced Email, Dropped Email)",
            ((f"lower(trim(value)) in ({_EVENT_NAMES})", "unknown_value"),),
            aliases=("action", "metric", "activity", "event name"),
        ),
        Column(
            "occurred_at",
            "TIMESTAMP",
            True,
            "local time of the event",
            aliases=("timestamp", "datetime", "event date", "date"),
        ),
        Column("source_tool", "VARCHAR", False, "mailchimp, klaviyo, brevo, hubspot"),
    ),
    batch_key=("email", "campaign", "event", "occurred_at"),
    derived=(
        *_email_columns(),
        *_contact_keys(phone=None),
        DerivedColumn(
            "event_type",
            "VARCHAR",
            "campaign_event",
            "event",
            description="`event` in our words: sent, delivered, opened, clicked, bounced",
        ),
    ),
    event_column="occurred_at",
)

PRIVACY_ERASURE_REQUESTS = Source(
    name="privacy_erasure_requests",
    landing_path="privacy/erasure_requests",
    format="csv",
    description="Right-to-erasure requests; at least one of card_id, shopify_customer_id, email.",
    columns=(
        Column("request_id", "VARCHAR", True),
        Column("requested_at", "TIMESTAMP", True),
        Column("card_id", "VARCHAR"),
        Column("shopify_customer_id", "VARCHAR"),
        Column("email", "VARCHAR"),
    ),
    batch_key=("request_id",),
    derived=(
        _keyed("card_key", "card_id", "card"),
        _keyed("shopify_customer_key", "shopify_customer_id", "shopify"),
        *_email_columns(),
        *_contact_keys(phone=None),
    ),
)

# Shopify sources are JSON Lines of Shopify Admin API objects; ingest flattens them into the
# tables below (nested line items and refunds become their own raw tables).
SHOPIFY_ORDERS = Source(
    name="shopify_orders",
    landing_path="ecommerce/orders",
    format="jsonl",
    file_glob="*.jsonl",
    description=(
        "Shopify Order objects, one per line; an order is delivered again when it changes "
        "(refund, cancellation) and the latest `updated_at` wins."
    ),
    columns=(
        Column("order_id", "BIGINT", True, "Shopify `id`"),
        Column("order_name", "VARCHAR", False, "Shopify `name`, e.g. #1001"),
        Column("email", "VARCHAR"),
        Column("created_at", "TIMESTAMP", True, "local time (offset converted to `timezone`)"),
        Column("updated_at", "TIMESTAMP", True, "local time"),
        Column("processed_at", "TIMESTAMP"),
        Column("cancelled_at", "TIMESTAMP", False, "set when the order was cancelled"),
        Column("cancel_reason", "VARCHAR"),
        Column("financial_status", "VARCHAR"),
        Column("fulfillment_status", "VARCHAR"),
        Column("currency", "VARCHAR"),
        Column("source_name", "VARCHAR"),
        Column("taxes_included", "BOOLEAN"),
        Column("subtotal_price", MONEY, True, "line items after discounts", NON_NEGATIVE),
        Column("total_price", MONEY, False, "", NON_NEGATIVE),
        Column("total_discounts", MONEY),
        Column("total_tax", MONEY),
        Column("customer_id", "BIGINT", False, "nested `customer.id`; empty for guest checkout"),
        Column("customer_email", "VARCHAR", False, "nested `customer.email`"),
        Column("customer_phone", "VARCHAR", False, "nested `customer.phone`"),
        Column("discount_codes", "VARCHAR", False, "codes of `discount_codes`, comma-separated"),
    ),
    batch_key=("order_id", "updated_at"),
    derived=(
        _keyed("customer_key", "customer_id", "shopify"),
        *_email_columns("customer_email", prefix="customer_"),
        _phone_column("customer_phone", prefix="customer_"),
        *_contact_keys("customer_email", "customer_phone", prefix="customer_"),
    ),
    event_column="created_at",
)

SHOPIFY_ORDER_LINES = Source(
    name="shopify_order_lines",
    landing_path="ecommerce/orders",
    format="jsonl",
    file_glob="*.jsonl",
    description="`line_items` of each delivered order version (same file and line as the order).",
    columns=(
        Column("order_id", "BIGINT", True),
        Column("order_updated_at", "TIMESTAMP", True),
        Column("line_item_id", "BIGINT", True),
        Column("product_id", "BIGINT"),
        Column("variant_id", "BIGINT"),
        Column("sku", "VARCHAR"),
        Column("title", "VARCHAR"),
        Column("quantity", "INTEGER", True),
        Column("price", MONEY, True, "unit price", NON_NEGATIVE),
        Column("total_discount", MONEY, False, "discount on the whole line"),
    ),
    batch_key=("order_id", "order_updated_at", "line_item_id"),
)

SHOPIFY_REFUND_LINES = Source(
    name="shopify_refund_lines",
    landing_path="ecommerce/orders",
    format="jsonl",
    file_glob="*.jsonl",
    description="`refunds[].refund_line_items` of each delivered order version.",
    columns=(
        Column("order_id", "BIGINT", True),
        Column("order_updated_at", "TIMESTAMP", True),
        Column("refund_id", "BIGINT", True),
        Column("refunded_at", "TIMESTAMP", True, "refund `created_at`, local time"),
        Column("refund_line_item_id", "BIGINT", True),
        Column("line_item_id", "BIGINT", True),
        Column("quantity", "INTEGER", True),
        Column("subtotal", MONEY, True, "amount refunded for the line", NON_NEGATIVE),
        Column("total_tax", MONEY),
    ),
    batch_key=("order_id", "order_updated_at", "refund_line_item_id"),
)

SHOPIFY_CUSTOMERS = Source(
    name="shopify_customers",
    landing_path="ecommerce/customers",
    format="jsonl",
    file_glob="*.jsonl",
    description="Shopify Customer objects; the latest `updated_at` per customer wins.",
    columns=(
        Column("customer_id", "BIGINT", True, "Shopify `id`"),
        Column("email", "VARCHAR"),
        Column("phone", "VARCHAR"),
        Column("first_name", "VARCHAR"),
        Column("last_name", "VARCHAR"),
        Column("created_at", "TIMESTAMP", True),
        Column("updated_at", "TIMESTAMP", True),
        Column("state", "VARCHAR", False, "enabled, disabled, invited, declined"),
        Column("verified_email", "BOOLEAN"),
        Column("tags", "VARCHAR"),
        Column(
            "email_marketing_consent_state",
            "VARCHAR",
            False,
            "`email_marketing_consent.state`: subscribed, not_subscribed, unsubscribed, pending",
        ),
        Column("email_marketing_opt_in_level", "VARCHAR"),
        Column("email_marketing_consent_updated_at", "TIMESTAMP"),
        Column("default_address_zip", "VARCHAR"),
        Column("default_address_city", "VARCHAR"),
        Column("default_address_country_code", "VARCHAR"),
    ),
    batch_key=("customer_id", "updated_at"),
    derived=(
        _keyed("customer_key", "customer_id", "shopify"),
        *_email_columns(),
        _phone_column(),
        *_contact_keys(),
    ),
)

# The generic source: a flat sales file with the retailer's own column names, mapped in
# loyalty.yml. Raw columns are the canonical names below.
GENERIC_TRANSACTIONS = Source(
    name="transactions",
    landing_path="",
    format="csv",
    description=(
        "A flat sales export (CSV or Parquet, any path) with the retailer's own column names; "
        "one row per sale line or per order."
    ),
    columns=(
        Column("customer_id", "VARCHAR", False, "empty for anonymous sales"),
        Column("order_id", "VARCHAR", False, "when absent: one order per customer and timestamp"),
        Column("ordered_at", "TIMESTAMP", True, "local time, or with an offset"),
        Column("sku", "VARCHAR"),
        Column("quantity", "DECIMAL(18,3)"),
        Column("unit_price", "DECIMAL(18,4)"),
        Column("amount", "DECIMAL(18,4)", False, "line value; quantity × unit_price if not given"),
        Column("store_id", "VARCHAR"),
    ),
    batch_key=(),
    derived=(_keyed("customer_key", "customer_id", "generic"),),
    event_column="ordered_at",
)

FILE_SOURCES: tuple[Source, ...] = (
    POS_STORES,
    CATALOG_PRODUCTS,
    POS_MEMBERS,
    POS_TICKETS,
    SHOPIFY_CUSTOMERS,
    MARKETING_UNSUBSCRIBES,
    MARKETING_CAMPAIGN_ACTIVITY,
    PRIVACY_ERASURE_REQUESTS,
)
SHOPIFY_ORDER_TABLES: tuple[Source, ...] = (
    SHOPIFY_ORDERS,
    SHOPIFY_ORDER_LINES,
    SHOPIFY_REFUND_LINES,
)
ALL_RAW_TABLES: tuple[Source, ...] = (
    *FILE_SOURCES,
    *SHOPIFY_ORDER_TABLES,
    GENERIC_TRANSACTIONS,
)
SOURCES_BY_NAME: dict[str, Source] = {s.name: s for s in ALL_RAW_TABLES}

QUARANTINE_COLUMNS: tuple[tuple[str, str], ...] = (
    *LINEAGE_COLUMNS,
    ("reason_code", "VARCHAR"),
    ("reason_detail", "VARCHAR"),
    ("raw_record", "VARCHAR"),
)

INGEST_LOG_COLUMNS: tuple[tuple[str, str], ...] = (
    ("source", "VARCHAR"),
    ("partition_date", "DATE"),
    ("source_file", "VARCHAR"),
    ("file_sha256", "VARCHAR"),
    ("rows_read", "BIGINT"),
    ("rows_loaded", "BIGINT"),
    ("rows_quarantined", "BIGINT"),
    ("loaded_at", "TIMESTAMP"),
)


@dataclass(frozen=True)
class QuarantineReason:
    code: str
    description: str


# Codes a quarantined row can carry; `ops.quarantine_reasons` is written from this table.
QUARANTINE_REASONS: tuple[QuarantineReason, ...] = (
    QuarantineReason("missing_required", "a required value is empty"),
    QuarantineReason("bad_type", "a value does not parse as its column's type"),
    QuarantineReason(
        "negative_amount", "a price or amount that must not be negative is below zero"
    ),
    QuarantineReason("zero_quantity", "a line with quantity 0"),
    QuarantineReason("unknown_value", "a value outside its column's documented set of values"),
    QuarantineReason(
        "amount_mismatch", "line_amount differs from quantity x unit_price - discount"
    ),
    QuarantineReason("date_out_of_range", "a date outside the pipeline's history window"),
    QuarantineReason("duplicate_row", "a second copy of a record already in the batch"),
    QuarantineReason("malformed_record", "the record does not parse (columns, quotes, JSON)"),
    QuarantineReason(
        "refund_exceeds_order", "an order's refund lines add up to more than its subtotal_price"
    ),
)
