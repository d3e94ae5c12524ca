{#-
    One row per customer_key and as_of_date, for every customer with a purchase or an enrolment by
    that day (the customers of customer_lifecycle): where they stood on the day — RFM segment,
    value tier, lifecycle stage — and what the CLV model said of them. Prospects (no purchase
    yet) have a lifecycle stage only. Kept day after day, it is the history segment_transitions
    reads.
-#}

with

lifecycle as (

    select * from {{ ref('customer_lifecycle') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

clv as (

    select * from {{ source('analytics', 'customer_clv') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        lifecycle.customer_key,
        rfm.rfm_segment,
        rfm.value_tier,
        lifecycle.lifecycle_stage,
        clv.predicted_clv,
        clv.probability_alive
    from lifecycle
    left join rfm
        on lifecycle.customer_key = rfm.customer_key
    left join clv
        on lifecycle.customer_key = clv.customer_key

)

select * from final
