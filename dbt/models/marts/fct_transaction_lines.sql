{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='replace_transactions',
) }}
-- depends_on: {{ ref('int_transactions_changed') }}
-- Incremental on DuckDB: a nightly build replaces the transactions of int_transactions_changed.

with

transaction_lines as (

    select * from {{ ref('int_transaction_lines_unioned') }}
    {{ loyalty.only_changed_transactions() }}

),

products as (

    select * from {{ ref('dim_products') }}

),

-- The value the business keeps of each line: revenue net of VAT, what the goods cost, and the
-- gross margin (from the unit cost, else the category's configured share; null when neither).
valued as (

    select
        transaction_lines.line_id,
        {{ loyalty.money_scaled(
            'transaction_lines.line_amount', '10000', '(100 + products.vat_rate) * 100'
        ) }} as net_of_vat_amount,
        {{ loyalty.to_money('transaction_lines.quantity * products.unit_cost_amount') }}
            as cost_amount,
        products.margin_share
    from transaction_lines
    left join products
        on transaction_lines.sku = products.sku

),

final as (

    select
        ----------  ids
        transaction_lines.line_id,
        transaction_lines.transaction_id,
        transaction_lines.customer_key,
        transaction_lines.store_id,
        transaction_lines.sku,

        ---------- text
        transaction_lines.source,
        transaction_lines.channel,
        transaction_lines.line_type,
        coalesce(products.category, 'Unknown') as category,
        transaction_lines.coupon_code,

        ---------- numerics
        transaction_lines.quantity,
        transaction_lines.unit_price_amount,
        transaction_lines.discount_amount,
        transaction_lines.line_amount,
        valued.net_of_vat_amount,
        valued.cost_amount,
        case
            when valued.cost_amount is not null
                then valued.net_of_vat_amount - valued.cost_amount
            when valued.margin_share is not null
                then {{ loyalty.money_scaled(
                    'valued.net_of_vat_amount',
                    'round(valued.margin_share * 10000)',
                    '10000'
                ) }}
        end as margin_amount,

        ---------- booleans
        coalesce(products.is_prescription, false) as is_prescription,
        -- Health data: a prescription, or a product of a category listed in
        -- privacy.sensitive_categories. Analytics and marketing leave these lines out.
        coalesce(products.is_prescription, false)
        or {{ loyalty.is_sensitive_category("coalesce(products.category, 'Unknown')") }}
            as is_sensitive,

        ---------- dates and timestamps
        transaction_lines.ordered_at,
        cast(transaction_lines.ordered_at as date) as order_date,
        transaction_lines.event_at,
        cast(transaction_lines.event_at as date) as event_date,

        ---------- lineage
        transaction_lines.source_file,
        transaction_lines.source_line

    from transaction_lines
    left join products
        on transaction_lines.sku = products.sku
    inner join valued
        on transaction_lines.line_id = valued.line_id

)

select * from final
