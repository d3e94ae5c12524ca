{{ config(materialized='view') }}

{#-
    Every Shopify customer the pipeline knows: from the customers file, or only from the nested
    `customer` of their orders (customers never exported, or not yet). The customers file wins;
    an order-only customer takes the contact of their most recent order. Which record's address
    counts is decided on the delivered address being present: an erasure leaves an empty string
    there (lib/erasure.py), so the choice, and the keys it carries, stay what they were.
-#}

with

customers as (

    select * from {{ ref('stg_shopify__customers') }}

),

orders as (

    select * from {{ ref('stg_shopify__orders') }}

),

order_customers_ranked as (

    select
        shopify_customer_key,
        customer_email,
        customer_email_normalized,
        customer_phone,
        customer_phone_e164,
        customer_email_key,
        customer_phone_key,
        created_at,
        row_number() over (
            partition by shopify_customer_key
            order by created_at desc, order_id desc
        ) as recency_rank
    from orders
    where shopify_customer_key is not null

),

order_customers as (

    select * from order_customers_ranked
    where recency_rank = 1

),

first_orders as (

    select
        shopify_customer_key,
        min(created_at) as first_ordered_at
    from orders
    where shopify_customer_key is not null
    group by shopify_customer_key

),

from_customers_file as (

    select
        customers.shopify_customer_key,
        customers.first_name,
        customers.last_name,
        -- An address and its normalised form travel together, from one record (so a case, not
        -- a coalesce, for each).
        case
            when customers.email is not null then customers.email  -- noqa: ST02
            else order_customers.customer_email
        end as email,
        case
            when customers.email is not null then customers.email_normalized
            else order_customers.customer_email_normalized
        end as email_normalized,
        case
            when customers.phone is not null then customers.phone  -- noqa: ST02
            else order_customers.customer_phone
        end as phone,
        case
            when customers.phone is not null then customers.phone_e164
            else order_customers.customer_phone_e164
        end as phone_e164,
        case
            when customers.email is not null then customers.email_key
            else order_customers.customer_email_key
        end as email_key,
        case
            when customers.phone is not null then customers.phone_key
            else order_customers.customer_phone_key
        end as phone_key,
        customers.postal_code,
        customers.country_code,
        customers.email_marketing_consent_state,
        customers.has_email_opt_in,
        customers.email_marketing_consent_updated_at,
        true as has_customer_record,
        customers.created_at,
        customers.updated_at
    from customers
    left join order_customers
        on customers.shopify_customer_key = order_customers.shopify_customer_key

),

from_orders_only as (

    select
        order_customers.shopify_customer_key,
        cast(null as {{ dbt.type_string() }}) as first_name,
        cast(null as {{ dbt.type_string() }}) as last_name,
        order_customers.customer_email as email,
        order_customers.customer_email_normalized as email_normalized,
        order_customers.customer_phone as phone,
        order_customers.customer_phone_e164 as phone_e164,
        order_customers.customer_email_key as email_key,
        order_customers.customer_phone_key as phone_key,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as {{ dbt.type_string() }}) as country_code,
        cast(null as {{ dbt.type_string() }}) as email_marketing_consent_state,
        false as has_email_opt_in,
        cast(null as {{ dbt.type_timestamp() }}) as email_marketing_consent_updated_at,
        false as has_customer_record,
        -- No account record: the first order stands for the account's creation.
        first_orders.first_ordered_at as created_at,
        order_customers.created_at as updated_at
    from order_customers
    inner join first_orders
        on order_customers.shopify_customer_key = first_orders.shopify_customer_key
    left join customers
        on order_customers.shopify_customer_key = customers.shopify_customer_key
    where customers.shopify_customer_key is null

),

final as (

    select
        ----------  ids
        shopify_customer_key,

        ---------- text
        first_name,
        last_name,
        email,
        email_normalized,
        phone,
        phone_e164,
        email_key,
        phone_key,
        postal_code,
        country_code,
        email_marketing_consent_state,

        ---------- booleans
        -- The key, not the address: an erasure removes the address and keeps the key.
        email_key is not null as is_email_valid,
        has_email_opt_in,
        has_customer_record,

        ---------- timestamps
        created_at,
        updated_at,
        email_marketing_consent_updated_at

    from from_customers_file

    union all

    select
        shopify_customer_key,
        first_name,
        last_name,
        email,
        email_normalized,
        phone,
        phone_e164,
        email_key,
        phone_key,
        postal_code,
        country_code,
        email_marketing_consent_state,
        email_key is not null as is_email_valid,
        has_email_opt_in,
        has_customer_record,
        created_at,
        updated_at,
        email_marketing_consent_updated_at
    from from_orders_only

)

select * from final
