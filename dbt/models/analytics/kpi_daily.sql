{#-
    One row per as_of_date: the day's KPIs (one-line definitions in docs/analytics.md). Customer
    counts, frequency and order value follow the purchases analytics see (customer_purchases:
    orders of known customers, non-prescription value net of returns by the end of the day);
    net revenue counts every line — prescription products, anonymous tickets, guest checkouts,
    returns — by the day it happened on. Windows of N days end on the day: D - (N - 1) .. D.
-#}

{%- set lost_days = var('lifecycle')['lost_days'] | int -%}

with

purchases as (

    select * from {{ ref('customer_purchases') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

concentration as (

    select * from {{ ref('revenue_concentration') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

clv as (

    select * from {{ source('analytics', 'customer_clv') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

lines as (

    select * from {{ ref('fct_transaction_lines') }}
    where event_date <= {{ loyalty.as_of_date() }}
        and event_date > {{ dbt.dateadd('day', -30, loyalty.as_of_date()) }}

),

customer_counts as (

    select
        count(*) as customers,
        count(case when days_since_last_purchase < 30 then 1 end) as active_customers_30d,
        count(case when days_since_last_purchase < 90 then 1 end) as active_customers_90d,
        count(case when days_since_last_purchase < 365 then 1 end) as active_customers_365d,
        count(case when first_purchase_date = {{ loyalty.as_of_date() }} then 1 end) as new_customers,
        count(case when t_days < 30 then 1 end) as new_customers_30d,
        count(case when frequency >= 1 then 1 end) as repeat_customers
    from rfm

),

-- Each customer's last purchase as seen 30 days ago (purchases on or before D - 30).
purchases_30_days_ago as (

    select
        customer_key,
        max(order_date) as last_purchase_date
    from purchases
    where order_date <= {{ dbt.dateadd('day', -30, loyalty.as_of_date()) }}
    group by customer_key

),

-- Not lost 30 days ago by the days rule: a purchase within lost_days before D - 30.
not_lost_30_days_ago as (

    select customer_key
    from purchases_30_days_ago
    where {{ dbt.datediff('last_purchase_date', dbt.dateadd('day', -30, loyalty.as_of_date()), 'day') }} <= {{ lost_days }}

),

-- Of those, the ones lost by the days rule now: no purchase for more than lost_days.
churn_counts as (

    select
        count(*) as not_lost_customers_30_days_ago,
        count(case when rfm.days_since_last_purchase > {{ lost_days }} then 1 end) as churned_customers_30d
    from not_lost_30_days_ago
    inner join rfm
        on not_lost_30_days_ago.customer_key = rfm.customer_key

),

order_counts as (

    select
        count(case when order_date > {{ dbt.dateadd('day', -365, loyalty.as_of_date()) }} then 1 end) as orders_365d,
        count(case when order_date > {{ dbt.dateadd('day', -30, loyalty.as_of_date()) }} then 1 end) as orders_30d,
        -- A source without amounts has purchases without a value: the mean is over those with one.
        count(
            case when order_date > {{ dbt.dateadd('day', -30, loyalty.as_of_date()) }}
                then purchase_amount end
        ) as valued_orders_30d,
        sum(
            case when order_date > {{ dbt.dateadd('day', -30, loyalty.as_of_date()) }}
                then purchase_amount else 0 end
        ) as purchase_30d_amount
    from purchases

),

stage_counts as (

    select
        count(case when lifecycle_stage = 'reactivated' then 1 end) as reactivated_customers,
        count(case when lifecycle_stage = 'lost' then 1 end) as lost_customers
    from lifecycle

),

-- No line: 0. Lines from a source that gives no amounts: null (unknown, not nothing).
revenue as (

    select
        case
            when count(case when event_date = {{ loyalty.as_of_date() }} then 1 end) = 0 then 0
            else sum(case when event_date = {{ loyalty.as_of_date() }} then line_amount end)
        end as net_revenue_amount,
        case when count(*) = 0 then 0 else sum(line_amount) end as net_revenue_30d_amount,
        -- The value kept of those 30 days: net of VAT, and the gross margin (null when a line's
        -- is unknown: no VAT rate, no unit cost nor category margin).
        case
            when count(*) = 0 then 0
            when count(net_of_vat_amount) = count(*) then sum(net_of_vat_amount)
        end as net_revenue_excl_vat_30d_amount,
        case
            when count(*) = 0 then 0
            when count(margin_amount) = count(*) then sum(margin_amount)
        end as gross_margin_30d_amount
    from lines

),

-- Each customer's CLV to the cent first, so the average is exact and the same on every run.
clv_totals as (

    select
        count(predicted_clv) as clv_customers,
        sum({{ loyalty.to_money('predicted_clv') }}) as predicted_clv_amount
    from clv

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,

        ---------- customers
        customer_counts.customers,
        customer_counts.active_customers_30d,
        customer_counts.active_customers_90d,
        customer_counts.active_customers_365d,
        customer_counts.new_customers,
        customer_counts.new_customers_30d,
        stage_counts.reactivated_customers,
        stage_counts.lost_customers,

        ---------- behaviour
        {{ loyalty.ratio('customer_counts.repeat_customers', 'customer_counts.customers') }} as repeat_purchase_rate,
        {{ loyalty.ratio('order_counts.orders_365d', 'customer_counts.active_customers_365d') }} as purchase_frequency_365d,
        order_counts.orders_30d,
        {{ loyalty.money_per('order_counts.purchase_30d_amount', 'order_counts.valued_orders_30d') }}
            as average_order_value_30d_amount,

        ---------- revenue
        {{ loyalty.to_money('revenue.net_revenue_amount') }} as net_revenue_amount,
        {{ loyalty.to_money('revenue.net_revenue_30d_amount') }} as net_revenue_30d_amount,
        {{ loyalty.to_money('revenue.net_revenue_excl_vat_30d_amount') }}
            as net_revenue_excl_vat_30d_amount,
        {{ loyalty.to_money('revenue.gross_margin_30d_amount') }} as gross_margin_30d_amount,
        concentration.top_revenue_share,

        ---------- churn
        churn_counts.churned_customers_30d,
        churn_counts.not_lost_customers_30_days_ago,
        {{ loyalty.ratio('churn_counts.churned_customers_30d', 'churn_counts.not_lost_customers_30_days_ago') }}
            as churn_rate_30d,

        ---------- value
        clv_totals.clv_customers,
        {{ loyalty.to_money('clv_totals.predicted_clv_amount / nullif(clv_totals.clv_customers, 0)') }}
            as average_predicted_clv_amount

    from customer_counts
    cross join churn_counts
    cross join order_counts
    cross join stage_counts
    cross join revenue
    cross join clv_totals
    left join concentration
        on 1 = 1

)

select * from final
