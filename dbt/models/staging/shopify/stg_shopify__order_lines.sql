with

source as (

    select * from {{ source('shopify', 'order_lines') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

latest_version_lines as (

    -- Only the line items of the order's latest version (the version is its file and line).
    select source.*
    from source
    inner join orders
        on source.order_id = orders.order_id
        and source.partition_date = orders.partition_date
        and source.source_file = orders.source_file
        and source.source_line = orders.source_line

),

final as (

    select
        ----------  ids
        order_id,
        line_item_id,
        product_id,
        variant_id,
        sku,

        ---------- text
        title as product_title,

        ---------- numerics
        quantity,
        price as unit_price_amount,
        coalesce(total_discount, 0) as discount_amount,

        ---------- timestamps
        order_updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest_version_lines

)

select * from final
