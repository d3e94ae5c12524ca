{#-
    One row per customer with a purchase and as_of_date: how much they buy on a deal. Of the
    purchases analytics see as of the day (customer_purchases: no prescription lines), the orders
    with a deal (a coupon or a discount on one of their lines) and their share of the orders and
    of the spend. deal_profile classifies it (segmentation.deal_sensitivity): opportunistic from
    opportunistic_share of the orders on, loyal under loyal_share, mixed between; null (not
    enough to tell) under min_orders orders.
-#}

{%- set thresholds = var('deal_sensitivity') %}

with

purchases as (

    select * from {{ ref('customer_purchases') }}

),

per_customer as (

    select
        customer_key,
        count(*) as orders_count,
        sum(case when has_deal then 1 else 0 end) as deal_orders_count,
        sum(purchase_amount) as spend_amount,
        sum(case when has_deal then purchase_amount else 0 end) as deal_spend_amount
    from purchases
    group by customer_key

),

shares as (

    select
        customer_key,
        orders_count,
        deal_orders_count,
        {{ loyalty.ratio('deal_orders_count', 'orders_count') }} as deal_order_share,
        {{ loyalty.ratio('deal_spend_amount', 'spend_amount') }} as deal_spend_share
    from per_customer

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        customer_key,
        orders_count,
        deal_orders_count,
        deal_order_share,
        deal_spend_share,
        case
            when orders_count < {{ thresholds['min_orders'] }} then null
            when deal_order_share >= {{ thresholds['opportunistic_share'] }} then 'opportunistic'
            when deal_order_share < {{ thresholds['loyal_share'] }} then 'loyal'
            else 'mixed'
        end as deal_profile
    from shares

)

select * from final
