{{ config(materialized='table') }}

{#-
    The top-k subcategories each customer is likeliest to buy next, by two recommenders, at two
    cutoffs: as of the day (what customer_recommendations keeps) and holdout_days before it (what
    recommendation_runs checks against the purchases made since). A working table, replaced on
    each as-of day. What goes in is customer_categories_bought, from which health is left out.

    co_purchase: association rules learnt from the chain's own customers. For each subcategory A
    a customer bought in the lookback_days, the share of A's buyers who also bought C (the
    confidence of A → C) says how likely C is; a customer's score for C is the sum over their
    A's. A subcategory the customer bought earlier in the lookback counts for itself with
    confidence 1: people buy again what they bought before.
    popularity: the subcategories most customers bought, the baseline a recommender must beat.
    Neither recommends what the customer bought in the last recent_days. Ties go to the more
    popular subcategory, then the names.
-#}

{%- set settings = var('recommendations') -%}

with

bought as (

    select * from {{ ref('customer_categories_bought') }}
    where period in ('as_of', 'holdout')

),

buyers as (

    select
        period,
        category,
        subcategory,
        count(*) as buyer_count
    from bought
    group by period, category, subcategory

),

-- Customers who bought both A and C, A = C included (then: A's buyers).
bought_together as (

    select
        bought.period,
        bought.category as bought_category,
        bought.subcategory as bought_subcategory,
        other.category,
        other.subcategory,
        count(*) as both_count
    from bought
    inner join bought as other
        on bought.period = other.period
        and bought.customer_key = other.customer_key
    group by
        bought.period, bought.category, bought.subcategory, other.category, other.subcategory

),

confidence as (

    select
        bought_together.period,
        bought_together.bought_category,
        bought_together.bought_subcategory,
        bought_together.category,
        bought_together.subcategory,
        {{ loyalty.ratio('bought_together.both_count', 'buyers.buyer_count') }} as confidence
    from bought_together
    inner join buyers
        on bought_together.period = buyers.period
        and bought_together.bought_category = buyers.category
        and bought_together.bought_subcategory = buyers.subcategory

),

customers as (

    select distinct
        period,
        period_end,
        customer_key
    from bought

),

-- Every subcategory a customer did not buy in the last recent_days, with its popularity.
candidates as (

    select
        customers.period,
        customers.customer_key,
        buyers.category,
        buyers.subcategory,
        buyers.buyer_count
    from customers
    inner join buyers
        on customers.period = buyers.period
    left join bought as recent
        on customers.period = recent.period
        and customers.customer_key = recent.customer_key
        and buyers.category = recent.category
        and buyers.subcategory = recent.subcategory
        and recent.last_bought_on
        > {{ dbt.dateadd('day', -settings['recent_days'], 'customers.period_end') }}
    where recent.customer_key is null

),

co_purchase_scores as (

    select
        candidates.period,
        candidates.customer_key,
        candidates.category,
        candidates.subcategory,
        candidates.buyer_count,
        -- Rounded: a sum's last bits depend on the order it is added in, which differs between
        -- engines and runs; equal scores must tie the same way everywhere.
        round(coalesce(sum(confidence.confidence), 0), 9) as score
    from candidates
    inner join bought
        on candidates.period = bought.period
        and candidates.customer_key = bought.customer_key
    left join confidence
        on candidates.period = confidence.period
        and bought.category = confidence.bought_category
        and bought.subcategory = confidence.bought_subcategory
        and candidates.category = confidence.category
        and candidates.subcategory = confidence.subcategory
    group by
        candidates.period,
        candidates.customer_key,
        candidates.category,
        candidates.subcategory,
        candidates.buyer_count

),

ranked as (

    select
        period,
        'co_purchase' as recommender,
        customer_key,
        category,
        subcategory,
        score,
        row_number() over (
            partition by period, customer_key
            order by score desc, buyer_count desc, category asc, subcategory asc
        ) as recommendation_rank
    from co_purchase_scores

    union all

    select
        period,
        'popularity' as recommender,
        customer_key,
        category,
        subcategory,
        cast(buyer_count as {{ loyalty.type_double() }}) as score,
        row_number() over (
            partition by period, customer_key
            order by buyer_count desc, category asc, subcategory asc
        ) as recommendation_rank
    from candidates

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        period,
        recommender,
        customer_key,
        recommendation_rank,
        category,
        subcategory,
        score
    from ranked
    where recommendation_rank <= {{ settings['top_k'] }}

)

select * from final
