{#-
    Every sale, return and refund line of every source, in one shape, each on the transaction it
    nets against and with the person it belongs to.
    - POS: a return line (negative quantity) joins the transaction of its original_ticket_id when
      that ticket exists; otherwise it stays on its own ticket (an orphan return, negative net).
    - Shopify: the latest version of each order; cancelled orders are left out entirely. Line items
      are sales (price × quantity − total_discount), refund line items are refunds (−subtotal) on
      the order, at the refund's time.
    - Generic: each row at its own amount; a negative row is a return of its own order.
    A transaction's customer, store and time are those of the ticket or order it belongs to.

    Incremental on DuckDB: a nightly build computes only the transactions of
    int_transactions_changed (from the tickets and orders they are made of, and the tickets
    linked to them by a return, which decide how they net) and replaces those; a full refresh,
    and Spark, compute everything.
-#}

{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='replace_transactions',
) }}

{%- set string_type = dbt.type_string() -%}
{%- set quantity_type = 'decimal(18, 3)' -%}
{%- set unit_price_type = 'decimal(18, 4)' -%}
{%- set order_id_text = 'cast(shopify_kept_orders.order_id as ' ~ string_type ~ ')' -%}
{#- Orders, their lines and refund lines keep the same changed orders: one query for the three. -#}
{%- set shopify_changed = (
    loyalty.changed_keys('order_id', 'shopify') if is_incremental() else ''
) -%}

-- depends_on: {{ ref('int_transactions_changed') }}, {{ source('pos', 'tickets') }}
with

{%- if is_incremental() %}

changed as (

    select transaction_id from {{ ref('int_transactions_changed') }}

),

{%- endif %}

pos_lines as (

    select * from {{ ref('stg_pos__ticket_lines') }}
    {%- if is_incremental() %}
    where {{ loyalty.changed_keys('ticket_id', 'pos') }}
    {%- endif %}

),

shopify_orders as (

    select * from {{ ref('stg_shopify__orders') }}
    {%- if is_incremental() %}
    where {{ shopify_changed }}
    {%- endif %}

),

shopify_order_lines as (

    select * from {{ ref('stg_shopify__order_lines') }}
    {%- if is_incremental() %}
    where {{ shopify_changed }}
    {%- endif %}

),

shopify_refund_lines as (

    select * from {{ ref('stg_shopify__refund_lines') }}
    {%- if is_incremental() %}
    where {{ shopify_changed }}
    {%- endif %}

),

generic_lines as (

    select * from {{ ref('stg_generic__transaction_lines') }}
    {%- if is_incremental() %}
    where {{ loyalty.changed_keys('order_id', 'generic') }}
    {%- endif %}

),

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

---------- POS

pos_tickets as (

    select
        ticket_id,
        min(sold_at) as sold_at,
        max(store_id) as store_id,
        max(card_key) as card_key
    from pos_lines
    group by ticket_id

),

pos_lines_attached as (

    select
        pos_lines.*,
        coalesce(original_tickets.ticket_id, pos_lines.ticket_id) as transaction_ticket_id
    from pos_lines
    left join pos_tickets as original_tickets
        on pos_lines.original_ticket_id = original_tickets.ticket_id
        and pos_lines.is_return

),

pos as (

    select
        {{ dbt.concat([
            "'pos:'",
            'pos_lines_attached.ticket_id',
            "':'",
            'cast(pos_lines_attached.line_number as ' ~ string_type ~ ')'
        ]) }} as line_id,
        {{ dbt.concat(["'pos:'", 'pos_lines_attached.transaction_ticket_id']) }} as transaction_id,
        'pos' as source,
        'store' as channel,
        case when pos_lines_attached.is_return then 'return' else 'sale' end as line_type,
        'card' as identity_source_system,
        transaction_tickets.card_key as identity_source_key,
        transaction_tickets.store_id,
        transaction_tickets.sold_at as ordered_at,
        pos_lines_attached.sold_at as event_at,
        pos_lines_attached.sku,
        pos_lines_attached.quantity,
        pos_lines_attached.unit_price_amount,
        pos_lines_attached.discount_amount,
        pos_lines_attached.line_amount,
        pos_lines_attached.coupon_code,
        pos_lines_attached.partition_date,
        pos_lines_attached.source_file,
        pos_lines_attached.source_line
    from pos_lines_attached
    inner join pos_tickets as transaction_tickets
        on pos_lines_attached.transaction_ticket_id = transaction_tickets.ticket_id

),

---------- Shopify

shopify_kept_orders as (

    select * from shopify_orders
    where not is_cancelled

),

shopify_sales as (

    select
        {{ dbt.concat([
            "'shopify:'",
            order_id_text,
            "':line:'",
            'cast(shopify_order_lines.line_item_id as ' ~ string_type ~ ')'
        ]) }} as line_id,
        {{ dbt.concat(["'shopify:'", order_id_text]) }} as transaction_id,
        'shopify' as source,
        'online' as channel,
        'sale' as line_type,
        'shopify' as identity_source_system,
        shopify_kept_orders.shopify_customer_key as identity_source_key,
        cast(null as {{ string_type }}) as store_id,
        shopify_kept_orders.created_at as ordered_at,
        shopify_kept_orders.created_at as event_at,
        shopify_order_lines.sku,
        shopify_order_lines.quantity,
        shopify_order_lines.unit_price_amount,
        shopify_order_lines.discount_amount,
        (
            shopify_order_lines.unit_price_amount * shopify_order_lines.quantity
            - shopify_order_lines.discount_amount
        ) as line_amount,
        shopify_kept_orders.discount_codes as coupon_code,
        shopify_order_lines.partition_date,
        shopify_order_lines.source_file,
        shopify_order_lines.source_line
    from shopify_order_lines
    inner join shopify_kept_orders
        on shopify_order_lines.order_id = shopify_kept_orders.order_id

),

shopify_refunds as (

    select
        {{ dbt.concat([
            "'shopify:'",
            order_id_text,
            "':refund:'",
            'cast(shopify_refund_lines.refund_line_item_id as ' ~ string_type ~ ')'
        ]) }} as line_id,
        {{ dbt.concat(["'shopify:'", order_id_text]) }} as transaction_id,
        'shopify' as source,
        'online' as channel,
        'refund' as line_type,
        'shopify' as identity_source_system,
        shopify_kept_orders.shopify_customer_key as identity_source_key,
        cast(null as {{ string_type }}) as store_id,
        shopify_kept_orders.created_at as ordered_at,
        shopify_refund_lines.refunded_at as event_at,
        refunded_order_lines.sku,
        -1 * shopify_refund_lines.quantity as quantity,
        refunded_order_lines.unit_price_amount,
        cast(0 as {{ loyalty.type_money() }}) as discount_amount,
        -1 * shopify_refund_lines.refund_amount as line_amount,
        cast(null as {{ string_type }}) as coupon_code,
        shopify_refund_lines.partition_date,
        shopify_refund_lines.source_file,
        shopify_refund_lines.source_line
    from shopify_refund_lines
    inner join shopify_kept_orders
        on shopify_refund_lines.order_id = shopify_kept_orders.order_id
    left join shopify_order_lines as refunded_order_lines
        on shopify_refund_lines.order_id = refunded_order_lines.order_id
        and shopify_refund_lines.line_item_id = refunded_order_lines.line_item_id

),

---------- generic

generic_orders as (

    select
        order_id,
        min(ordered_at) as ordered_at,
        max(generic_customer_key) as generic_customer_key,
        max(store_id) as store_id
    from generic_lines
    group by order_id

),

generic as (

    select
        {{ dbt.concat([
            "'generic:'",
            'generic_lines.source_file',
            "':'",
            'cast(generic_lines.source_line as ' ~ string_type ~ ')'
        ]) }} as line_id,
        {{ dbt.concat(["'generic:'", 'generic_lines.order_id']) }} as transaction_id,
        'generic' as source,
        '{{ var("generic_channel") }}' as channel,
        case when generic_lines.is_return then 'return' else 'sale' end as line_type,
        'generic' as identity_source_system,
        generic_orders.generic_customer_key as identity_source_key,
        generic_orders.store_id,
        generic_orders.ordered_at,
        generic_lines.ordered_at as event_at,
        generic_lines.sku,
        generic_lines.quantity,
        generic_lines.unit_price_amount,
        cast(null as {{ loyalty.type_money() }}) as discount_amount,
        generic_lines.line_amount,
        cast(null as {{ string_type }}) as coupon_code,
        generic_lines.partition_date,
        generic_lines.source_file,
        generic_lines.source_line
    from generic_lines
    inner join generic_orders
        on generic_lines.order_id = generic_orders.order_id

),

unioned as (

    select * from pos

    union all

    select * from shopify_sales

    union all

    select * from shopify_refunds

    union all

    select * from generic

),

final as (

    select
        ----------  ids
        unioned.line_id,
        unioned.transaction_id,
        identities.customer_key,
        unioned.store_id,
        unioned.sku,

        ---------- text
        unioned.source,
        unioned.channel,
        unioned.line_type,
        unioned.coupon_code,

        ---------- numerics
        cast(unioned.quantity as {{ quantity_type }}) as quantity,
        cast(unioned.unit_price_amount as {{ unit_price_type }}) as unit_price_amount,
        cast(unioned.discount_amount as {{ loyalty.type_money() }}) as discount_amount,
        cast(unioned.line_amount as {{ loyalty.type_money() }}) as line_amount,

        ---------- timestamps
        unioned.ordered_at,
        unioned.event_at,

        ---------- lineage
        unioned.partition_date,
        unioned.source_file,
        unioned.source_line,
        -- The identity the line's transaction was resolved from: a nightly build finds the
        -- lines whose person changed by it (int_transactions_changed).
        unioned.identity_source_system,
        unioned.identity_source_key

    from unioned
    left join identities
        on unioned.identity_source_system = identities.source_system
        and unioned.identity_source_key = identities.source_key
    {%- if is_incremental() %}
    where unioned.transaction_id in (select transaction_id from changed)
    {%- endif %}

)

select * from final
