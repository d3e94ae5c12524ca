{#-
    One row per customer with a purchase by as_of_date: the purchase summary as lifetimes
    defines it (same-day purchases merged into one), RFM scores and segment, value tier.
-#}

{#- Without amounts (an event log) there is no M: FM is then F alone. -#}
{%- set fm_score = "coalesce(cast(floor((scored.f_score + scored.m_score) / 2.0 + 0.5) as integer), scored.f_score)" -%}

with

purchases as (

    select * from {{ ref('customer_purchases') }}

),

scheme as (

    {{ loyalty.rfm_scheme_relation() }}

),

purchase_days as (

    -- One pass over the purchases: each purchase day, with its orders by channel.
    select
        customer_key,
        order_date,
        sum(purchase_amount) as day_amount,
        -- The day's gross margin, known only when every purchase of the day knows its own.
        case when count(margin_amount) = count(*) then sum(margin_amount) end as day_margin,
        count(*) as day_orders,
        sum(case when channel = 'store' then 1 else 0 end) as day_store_orders,
        sum(case when channel = 'online' then 1 else 0 end) as day_online_orders
    from purchases
    group by customer_key, order_date

),

day_totals as (

    select
        customer_key,
        min(order_date) as first_purchase_date,
        max(order_date) as last_purchase_date,
        {{ loyalty.second_largest('order_date') }} as previous_purchase_date,
        count(*) as purchase_day_count,
        sum(day_amount) as total_amount,
        case when count(day_margin) = count(*) then sum(day_margin) end as total_margin,
        cast(sum(day_orders) as {{ dbt.type_bigint() }}) as orders_count,
        sum(day_store_orders) as store_orders_count,
        sum(day_online_orders) as online_orders_count
    from purchase_days
    group by customer_key

),

first_days as (

    select
        purchase_days.customer_key,
        purchase_days.day_amount as first_day_amount,
        purchase_days.day_margin as first_day_margin
    from purchase_days
    inner join day_totals
        on purchase_days.customer_key = day_totals.customer_key
        and purchase_days.order_date = day_totals.first_purchase_date

),

summary as (

    select
        day_totals.customer_key,
        day_totals.first_purchase_date,
        day_totals.last_purchase_date,
        day_totals.previous_purchase_date,
        day_totals.purchase_day_count - 1 as frequency,
        {{ dbt.datediff('day_totals.first_purchase_date', 'day_totals.last_purchase_date', 'day') }} as recency_days,
        {{ dbt.datediff('day_totals.first_purchase_date', loyalty.as_of_date(), 'day') }} as t_days,
        {{ dbt.datediff('day_totals.last_purchase_date', loyalty.as_of_date(), 'day') }} as days_since_last_purchase,
        case
            when day_totals.purchase_day_count > 1
                then (day_totals.total_amount - first_days.first_day_amount)
                    / (day_totals.purchase_day_count - 1)
            else 0
        end as monetary_value,
        day_totals.total_amount as total_net_amount,
        -- The same on gross margin (the spend model's input for CLV on margin).
        case
            when day_totals.total_margin is null then null
            when day_totals.purchase_day_count > 1
                then (day_totals.total_margin - first_days.first_day_margin)
                    / (day_totals.purchase_day_count - 1)
            else 0
        end as monetary_margin_value,
        day_totals.total_margin as total_margin_amount,
        day_totals.orders_count,
        day_totals.total_amount / day_totals.orders_count as average_order_value,
        case
            when day_totals.store_orders_count > 0 and day_totals.online_orders_count > 0 then 'both'
            when day_totals.online_orders_count > 0 then 'online'
            else 'store'
        end as channels_used
    from day_totals
    inner join first_days
        on day_totals.customer_key = first_days.customer_key

),

scored as (

    select
        *,
        -- Most recent is best, so the fewest days since the last purchase score 5.
        6 - {{ loyalty.quintile_score('days_since_last_purchase') }} as r_score,
        {{ loyalty.quintile_score('frequency') }} as f_score,
        case
            when total_net_amount is not null then {{ loyalty.quintile_score('total_net_amount') }}
        end as m_score,
        sum(total_net_amount) over () as all_customers_amount,
        count(*) over () as customer_count,
        -- Largest spenders first; the key breaks ties so the order never changes between runs.
        row_number() over (order by total_net_amount desc, customer_key asc) as spend_rank,
        coalesce(
            sum(total_net_amount) over (
                order by total_net_amount desc, customer_key asc
                rows between unbounded preceding and 1 preceding
            ),
            0
        ) as amount_before
    from summary

),

final as (

    select
        ----------  ids
        {{ loyalty.as_of_date() }} as as_of_date,
        scored.customer_key,

        ---------- purchase summary (lifetimes' definitions; recency and t in the CLV time unit)
        scored.first_purchase_date,
        scored.last_purchase_date,
        scored.previous_purchase_date,
        scored.frequency,
        {{ loyalty.in_time_unit('scored.recency_days') }} as recency,
        {{ loyalty.in_time_unit('scored.t_days') }} as t,
        scored.recency_days,
        scored.t_days,
        scored.days_since_last_purchase,
        cast(scored.monetary_value as {{ dbt.type_numeric() }}) as monetary_value,
        scored.total_net_amount,
        cast(scored.monetary_margin_value as {{ dbt.type_numeric() }}) as monetary_margin_value,
        scored.total_margin_amount,
        scored.orders_count,
        cast(scored.average_order_value as {{ dbt.type_numeric() }}) as average_order_value,
        case
            when scored.frequency > 0 then scored.recency_days / scored.frequency
        end as average_days_between_purchases,
        scored.channels_used,

        ---------- RFM
        scored.r_score,
        scored.f_score,
        scored.m_score,
        {{ fm_score }} as fm_score,
        scheme.rfm_segment,

        ---------- value
        case
            when scored.total_net_amount is null then null
            when scored.total_net_amount <= 0 then 'wood'
            when scored.amount_before < {{ var('tier_cutoffs')['gold'] }} * scored.all_customers_amount then 'gold'
            when scored.amount_before < {{ var('tier_cutoffs')['silver'] }} * scored.all_customers_amount then 'silver'
            when scored.amount_before < {{ var('tier_cutoffs')['bronze'] }} * scored.all_customers_amount then 'bronze'
            else 'wood'
        end as value_tier,
        {{ loyalty.ratio('scored.total_net_amount', 'scored.all_customers_amount') }} as revenue_share,
        scored.spend_rank,
        scored.spend_rank <= ceiling({{ var('pareto_top_share') }} * scored.customer_count) as is_top_spender

    from scored
    left join scheme
        on scheme.r_score = scored.r_score
        and scheme.fm_score = {{ fm_score }}

)

select * from final
