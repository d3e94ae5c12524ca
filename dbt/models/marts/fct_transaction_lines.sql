with

transaction_lines as (

    select * from {{ ref('int_transaction_lines_unioned') }}

),

products as (

    select * from {{ ref('dim_products') }}

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

)

select * from final
