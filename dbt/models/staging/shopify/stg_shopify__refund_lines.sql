with

source as (

    select * from {{ source('shopify', 'refund_lines') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

latest_version_lines as (

    -- Only the refunds carried by the order's latest version (the version is its file and line).
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
        refund_id,
        refund_line_item_id,
        line_item_id,

        ---------- numerics
        quantity,
        subtotal as refund_amount,
        total_tax as refund_tax_amount,

        ---------- timestamps
        refunded_at,
        order_updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest_version_lines

)

select * from final
