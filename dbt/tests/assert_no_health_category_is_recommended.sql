{#-
    No recommendation, on any as-of day, names a health category or product: a category that
    holds a prescription product, one of privacy.sensitive_categories, the unknown category of
    products outside the catalogue, or a prescription product.
-#}


with

recommendations as (

    select * from {{ ref('customer_recommendations') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

health_categories as (

    select distinct category
    from products
    where is_prescription

),

prescription_products as (

    select sku
    from products
    where is_prescription

),

health_recommendations as (

    select recommendations.*
    from recommendations
    left join health_categories
        on recommendations.category = health_categories.category
    left join prescription_products
        on recommendations.sku = prescription_products.sku
    where health_categories.category is not null
        or prescription_products.sku is not null
        or {{ loyalty.is_named_health_category('recommendations.category') }}

)

select * from health_recommendations
