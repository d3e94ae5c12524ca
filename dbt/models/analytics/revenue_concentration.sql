{#-
    The Pareto view, one row per as_of_date: how much of the revenue of customers (prescription
    lines left out) comes from the top share of them (pareto_top_share, default 20 %).
-#}

with

rfm as (

    select * from {{ ref('customer_rfm') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        count(*) as customers,
        sum(case when is_top_spender then 1 else 0 end) as top_customers,
        {{ var('pareto_top_share') }} as top_customer_share,
        sum(total_net_amount) as revenue_amount,
        sum(case when is_top_spender then total_net_amount else 0 end) as top_revenue_amount,
        {{ loyalty.ratio('sum(case when is_top_spender then total_net_amount else 0 end)', 'sum(total_net_amount)') }}
            as top_revenue_share
    from rfm

)

select * from final
