with

source as (

    select * from {{ source('catalog', 'products') }}

),

latest as (

    -- Each delivery is a snapshot of the catalogue: the latest row per sku wins.
    select
        *,
        {{ loyalty.latest_delivery_rank('sku') }} as delivery_rank
    from source

),

final as (

    select
        ----------  ids
        sku,

        ---------- text
        product_name,
        category,
        subcategory,
        brand,

        ---------- numerics
        list_price as list_price_amount,
        vat_rate,
        unit_cost as unit_cost_amount,

        ---------- booleans
        is_prescription,
        is_active,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
