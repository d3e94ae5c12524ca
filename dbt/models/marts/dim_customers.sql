{#-
    One row per person (customer_key): who they are in coarse, non-identifying terms, and what
    they bought. Contact details live in pii.customer_contacts only.
-#}

with

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

members as (

    select * from {{ ref('stg_pos__members') }}

),

transactions as (

    select * from {{ ref('fct_transactions') }}

),

erased as (

    select * from {{ ref('int_customers_erased') }}

),

customers as (

    select
        customer_key,
        {{ dbt.bool_or("source_system = 'card'") }} as has_card,
        {{ dbt.bool_or("source_system = 'shopify'") }} as has_online_account
    from identities
    group by customer_key

),

-- A card's customer_key is its card_key, so at most one member row per person.
card_profiles as (

    select
        card_key as customer_key,
        enrolled_on,
        home_store_id,
        birth_date,
        marital_status,
        case
            when {{ loyalty.regexp_like('postal_code', "'^[0-9]{5}$'") }} then postal_code
        end as postal_code
    from members

),

online_profiles as (

    select
        customer_key,
        first_created_at as online_created_at,
        -- A Shopify zip is a Spanish postal code only for a Spanish (or unstated) address.
        case
            when coalesce(country_code, 'ES') = 'ES'
                and {{ loyalty.regexp_like('postal_code', "'^[0-9]{5}$'") }}
                then postal_code
        end as postal_code
    from {{ ref('int_customer_online_accounts') }}

),

purchases as (

    select
        customer_key,
        min(case when not is_orphan_return then order_date end) as first_order_date,
        max(case when not is_orphan_return then order_date end) as last_order_date,
        sum(case when not is_orphan_return then 1 else 0 end) as orders_count,
        sum(net_amount) as net_revenue_amount
    from transactions
    where customer_key is not null
    group by customer_key

),

joined as (

    select
        customers.customer_key,
        customers.has_card,
        customers.has_online_account,
        card_profiles.enrolled_on as card_enrolled_on,
        online_profiles.online_created_at,
        card_profiles.home_store_id,
        -- An erased person keeps their key and purchases (counted anonymously) and loses what
        -- describes them.
        case when erased.customer_key is null then card_profiles.birth_date end as birth_date,
        case
            when erased.customer_key is null then card_profiles.marital_status
        end as marital_status,
        case
            when erased.customer_key is null
                then coalesce(card_profiles.postal_code, online_profiles.postal_code)
        end as postal_code,
        purchases.first_order_date,
        purchases.last_order_date,
        cast(coalesce(purchases.orders_count, 0) as {{ dbt.type_bigint() }}) as orders_count,
        coalesce(purchases.net_revenue_amount, 0) as net_revenue_amount
    from customers
    left join card_profiles
        on customers.customer_key = card_profiles.customer_key
    left join online_profiles
        on customers.customer_key = online_profiles.customer_key
    left join purchases
        on customers.customer_key = purchases.customer_key
    left join erased
        on customers.customer_key = erased.customer_key

),

final as (

    select
        ----------  ids
        customer_key,
        home_store_id,

        ---------- text
        marital_status,
        -- The province: first two digits of a Spanish postal code.
        substring(postal_code, 1, 2) as postal_area,

        ---------- numerics
        cast(extract(year from birth_date) as {{ dbt.type_int() }}) as birth_year,
        orders_count,
        cast(net_revenue_amount as {{ loyalty.type_money() }}) as net_revenue_amount,

        ---------- booleans
        has_card,
        has_online_account,
        has_card and orders_count = 0 as is_prospect,

        ---------- dates and timestamps
        card_enrolled_on,
        online_created_at,
        first_order_date,
        last_order_date

    from joined

)

select * from final
