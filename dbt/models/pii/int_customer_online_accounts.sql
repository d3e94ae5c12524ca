{{ config(materialized='view') }}

{#-
    Each person's Shopify record, one row per customer_key with a Shopify account: of the Shopify
    customers matched to the person, the one with an account record, most recently updated (the
    key breaks ties), with every column of int_shopify_customers_unioned, and the earliest
    created_at over all of them (first_created_at). The one choice of "their online account"
    that erasure, the customer dimension and the contacts share.
-#}

with

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

shopify_customers as (

    select * from {{ ref('int_shopify_customers_unioned') }}

),

ranked as (

    select
        identities.customer_key,
        shopify_customers.shopify_customer_key,
        min(shopify_customers.created_at) over (
            partition by identities.customer_key
        ) as first_created_at,
        row_number() over (
            partition by identities.customer_key
            order by
                shopify_customers.has_customer_record desc,
                shopify_customers.updated_at desc,
                shopify_customers.shopify_customer_key asc
        ) as recency_rank
    from identities
    inner join shopify_customers
        on identities.source_key = shopify_customers.shopify_customer_key
    where identities.source_system = 'shopify'

),

-- The chosen record's columns by a join, not by dropping the rank from `*` (Spark has no
-- `* exclude`).
final as (

    select
        ranked.customer_key,
        ranked.first_created_at,
        shopify_customers.*
    from ranked
    inner join shopify_customers
        on ranked.shopify_customer_key = shopify_customers.shopify_customer_key
    where ranked.recency_rank = 1

)

select * from final
