{#-
    One row per as_of_date: how well the recommendations do, measured as the CLV is, on the last
    recommendations.holdout_days. What was recommended with what was known at the start of the
    holdout (recommendation_candidates, period holdout) is compared with what each customer then
    bought in the holdout, of the subcategories they had not bought in the recent_days before it
    (the only ones a recommendation can name). Measured: the customers with recommendations and
    with such a purchase. Hit rate at k: the share of them who bought at least one of their
    recommended subcategories; precision at k: the share of recommendations bought. The popularity
    baseline is measured on the same customers; beats_baseline says whether co-purchases did
    better on hit rate (null when nobody could be measured: a history shorter than the holdout,
    or no purchase in it).
-#}

{%- set settings = var('recommendations') -%}

with

bought as (

    select * from {{ ref('customer_categories_bought') }}

),

candidates as (

    select * from {{ ref('recommendation_candidates') }}
    where period = 'holdout'

),

recent_before_holdout as (

    select
        customer_key,
        category,
        subcategory
    from bought
    where period = 'holdout'
        and last_bought_on > {{ dbt.dateadd('day', -settings['recent_days'], 'period_end') }}

),

-- What each customer bought in the holdout that a recommendation could have named.
new_in_holdout as (

    select
        outcome.customer_key,
        outcome.category,
        outcome.subcategory
    from bought as outcome
    left join recent_before_holdout
        on outcome.customer_key = recent_before_holdout.customer_key
        and outcome.category = recent_before_holdout.category
        and outcome.subcategory = recent_before_holdout.subcategory
    where outcome.period = 'outcome'
        and recent_before_holdout.customer_key is null

),

measured_customers as (

    select distinct new_in_holdout.customer_key
    from new_in_holdout
    inner join candidates
        on new_in_holdout.customer_key = candidates.customer_key

),

per_customer as (

    select
        candidates.recommender,
        candidates.customer_key,
        count(*) as recommended_count,
        count(new_in_holdout.category) as hit_count
    from candidates
    inner join measured_customers
        on candidates.customer_key = measured_customers.customer_key
    left join new_in_holdout
        on candidates.customer_key = new_in_holdout.customer_key
        and candidates.category = new_in_holdout.category
        and candidates.subcategory = new_in_holdout.subcategory
    group by candidates.recommender, candidates.customer_key

),

per_recommender as (

    select
        recommender,
        count(*) as customer_count,
        {{ loyalty.ratio('sum(case when hit_count > 0 then 1 else 0 end)', 'count(*)') }}
            as hit_rate,
        {{ loyalty.ratio('sum(hit_count)', 'sum(recommended_count)') }} as precision_at_k
    from per_customer
    group by recommender

),

measured as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        cast({{ dbt.dateadd('day', 1 - settings['holdout_days'], loyalty.as_of_date()) }} as date)
            as holdout_start_date,
        {{ settings['top_k'] }} as top_k,
        -- One row even when nobody could be measured (an aggregate over no rows).
        coalesce(max(customer_count), 0) as customers_measured,
        max(case when recommender = 'co_purchase' then hit_rate end) as hit_rate,
        max(case when recommender = 'co_purchase' then precision_at_k end) as precision_at_k,
        max(case when recommender = 'popularity' then hit_rate end) as baseline_hit_rate,
        max(case when recommender = 'popularity' then precision_at_k end)
            as baseline_precision_at_k
    from per_recommender

),

final as (

    select
        *,
        case
            when customers_measured > 0 then hit_rate > baseline_hit_rate
        end as beats_baseline
    from measured

)

select * from final
