{#-
    One row per as_of_date, group_type and group_name: the predicted CLV of the customers of each
    value tier and each RFM segment on the day (customers with a purchase; prospects have neither).
    Each customer's CLV is taken to the cent before adding up, so totals are exact and the same on
    every run.
-#}

with

history as (

    select * from {{ ref('customer_segment_history') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

memberships as (

    select
        'value_tier' as group_type,
        value_tier as group_name,
        customer_key,
        predicted_clv
    from history
    where value_tier is not null

    union all

    select
        'rfm_segment' as group_type,
        rfm_segment as group_name,
        customer_key,
        predicted_clv
    from history
    where rfm_segment is not null

),

groups as (

    select
        group_type,
        group_name,
        count(*) as customers,
        count(predicted_clv) as clv_customers,
        sum({{ loyalty.to_money('predicted_clv') }}) as total_predicted_clv_amount
    from memberships
    group by group_type, group_name

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        group_type,
        group_name,
        customers,
        clv_customers,
        {{ loyalty.to_money('total_predicted_clv_amount / nullif(clv_customers, 0)') }} as average_predicted_clv_amount,
        {{ loyalty.to_money('total_predicted_clv_amount') }} as total_predicted_clv_amount
    from groups

)

select * from final
