with

products as (

    select * from {{ ref('stg_catalog__products') }}

),

transaction_lines as (

    select * from {{ ref('int_transaction_lines_unioned') }}

),

-- Sold but never delivered in a catalogue: kept, so every line finds its product.
uncatalogued_skus as (

    select distinct transaction_lines.sku
    from transaction_lines
    left join products
        on transaction_lines.sku = products.sku
    where transaction_lines.sku is not null
        and products.sku is null

),

catalogued as (

    select
        sku,
        product_name,
        category,
        subcategory,
        brand,
        list_price_amount,
        -- The catalogue's rate, else margins.vat_rates of the category.
        cast(
            coalesce(
                vat_rate,
                {{ loyalty.category_setting('category', var('margins')['vat_rates']) }}
            ) as decimal(5, 2)
        ) as vat_rate,
        unit_cost_amount,
        -- Without a unit cost: margins.category_margins of the category, a share of the revenue
        -- net of VAT.
        case
            when unit_cost_amount is null
                then {{ loyalty.category_setting('category', var('margins')['category_margins']) }}
        end as margin_share,
        is_prescription,
        is_active,
        true as is_in_catalog
    from products

),

uncatalogued as (

    select
        sku,
        cast(null as {{ dbt.type_string() }}) as product_name,
        'Unknown' as category,
        cast(null as {{ dbt.type_string() }}) as subcategory,
        cast(null as {{ dbt.type_string() }}) as brand,
        cast(null as {{ loyalty.type_money() }}) as list_price_amount,
        cast(null as decimal(5, 2)) as vat_rate,
        cast(null as {{ loyalty.type_money() }}) as unit_cost_amount,
        cast(null as {{ loyalty.type_double() }}) as margin_share,
        false as is_prescription,
        cast(null as {{ dbt.type_boolean() }}) as is_active,
        false as is_in_catalog
    from uncatalogued_skus

),

final as (

    select * from catalogued

    union all

    select * from uncatalogued

)

select * from final
