with

source as (

    select * from {{ source('pos', 'tickets') }}

),

latest as (

    -- A file delivered again on another day repeats its lines: keep the latest delivery.
    select
        *,
        {{ loyalty.latest_delivery_rank('ticket_id, line_number') }} as delivery_rank
    from source

),

final as (

    select
        ----------  ids
        ticket_id,
        line_number,
        store_id,
        card_key,
        sku,
        original_ticket_id,

        ---------- numerics
        quantity,
        unit_price as unit_price_amount,
        coalesce(discount_amount, 0) as discount_amount,
        line_amount,

        ---------- text
        coupon_code,

        ---------- booleans
        quantity < 0 as is_return,

        ---------- timestamps
        sold_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
