with

source as (

    select * from {{ source('pos', 'stores') }}

),

latest as (

    select
        *,
        {{ loyalty.latest_delivery_rank('store_id') }} as delivery_rank
    from source

),

final as (

    select
        ----------  ids
        store_id,

        ---------- text
        store_name,
        city,
        province,
        postal_code,

        ---------- dates
        opened_on,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
