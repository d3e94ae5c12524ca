{#-
    One row per customer_key and as_of_date, for every customer with a purchase or an enrolment by
    that day: their lifecycle stage. Rules (docs/analytics.md): prospect (enrolled, no purchase),
    new (first purchase within new_days), lost (no purchase for lost_days, or P(alive) below
    lost_probability), reactivated (a recent purchase after a gap longer than the at-risk window of the
    rhythm they had before it),
    active (days since the last purchase within active_gaps × their rhythm), at risk (within
    at_risk_gaps × rhythm, or active with P(alive) below at_risk_probability), lapsed otherwise.
-#}

{%- set rules = var('lifecycle') -%}

with

rfm as (

    select * from {{ ref('customer_rfm') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

clv as (

    select * from {{ source('analytics', 'customer_clv') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

-- A one-time buyer has no rhythm of their own: they get the median rhythm of repeat buyers.
population as (

    select
        coalesce(
            {{ loyalty.median('average_days_between_purchases') }},
            {{ rules['min_active_days'] }}
        ) as median_rhythm_days
    from rfm
    where frequency > 0

),

buyers as (

    select
        rfm.customer_key,
        rfm.first_purchase_date,
        rfm.last_purchase_date,
        rfm.days_since_last_purchase,
        {{ dbt.datediff('rfm.first_purchase_date', loyalty.as_of_date(), 'day') }} as days_since_first_purchase,
        {{ dbt.datediff('rfm.previous_purchase_date', 'rfm.last_purchase_date', 'day') }} as gap_before_last_days,
        coalesce(rfm.average_days_between_purchases, population.median_rhythm_days) as rhythm_days,
        -- The rhythm they had before the latest purchase: that purchase's own gap left out, or
        -- a long absence would stretch the very rhythm it is measured against. One earlier gap
        -- is that gap; with none (one repeat purchase), the median rhythm of repeat buyers.
        coalesce(
            case
                when rfm.frequency >= 2 then
                    cast({{ dbt.datediff('rfm.first_purchase_date', 'rfm.previous_purchase_date', 'day') }} as {{ loyalty.type_double() }})
                    / (rfm.frequency - 1)
            end,
            population.median_rhythm_days
        ) as rhythm_before_last_days,
        clv.probability_alive
    from rfm
    cross join population
    left join clv
        on rfm.customer_key = clv.customer_key

),

thresholds as (

    select
        *,
        greatest({{ rules['min_active_days'] }}, {{ rules['active_gaps'] }} * rhythm_days) as active_days,
        greatest({{ rules['min_at_risk_days'] }}, {{ rules['at_risk_gaps'] }} * rhythm_days) as at_risk_days,
        -- The at-risk window as it stood just before the latest purchase: a gap beyond it had lapsed.
        greatest({{ rules['min_at_risk_days'] }}, {{ rules['at_risk_gaps'] }} * rhythm_before_last_days) as lapsed_after_days
    from buyers

),

staged as (

    select
        customer_key,
        first_purchase_date,
        last_purchase_date,
        days_since_last_purchase,
        rhythm_days,
        rhythm_before_last_days,
        active_days,
        at_risk_days,
        probability_alive,
        case
            when days_since_first_purchase < {{ rules['new_days'] }} then 'new'
            when days_since_last_purchase > {{ rules['lost_days'] }}
                or probability_alive < {{ rules['lost_probability'] }} then 'lost'
            when days_since_last_purchase <= active_days
                and gap_before_last_days > lapsed_after_days then 'reactivated'
            when days_since_last_purchase <= active_days
                and coalesce(probability_alive, 1) >= {{ rules['at_risk_probability'] }} then 'active'
            when days_since_last_purchase <= at_risk_days then 'at_risk'
            else 'lapsed'
        end as lifecycle_stage
    from thresholds

),

prospects as (

    select
        customers.customer_key,
        cast(null as date) as first_purchase_date,
        cast(null as date) as last_purchase_date,
        cast(null as integer) as days_since_last_purchase,
        cast(null as {{ dbt.type_float() }}) as rhythm_days,
        cast(null as {{ dbt.type_float() }}) as rhythm_before_last_days,
        cast(null as {{ dbt.type_float() }}) as active_days,
        cast(null as {{ dbt.type_float() }}) as at_risk_days,
        cast(null as {{ dbt.type_float() }}) as probability_alive,
        'prospect' as lifecycle_stage
    from customers
    left join rfm
        on customers.customer_key = rfm.customer_key
    where rfm.customer_key is null
        and least(
            coalesce(customers.card_enrolled_on, {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }}),
            coalesce(cast(customers.online_created_at as date), {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }})
        ) <= {{ loyalty.as_of_date() }}

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        *
    from (
        select * from staged
        union all
        select * from prospects
    ) as everyone

)

select * from final
