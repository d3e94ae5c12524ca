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

    What a customer's candidates, scores and ranks depend on is their profile: the subcategories
    they bought in the lookback, and which of them in the last recent_days. Customers with the
    same profile get the same recommendations, so each profile is ranked once, for its first
    customer, and the ranks are given to all its customers: the same rows as ranking every
    customer, for fewer (at a million customers, less than half as many).
-#}

{%- set settings = var('recommendations') -%}

with

bought as (

    select
        *,
        last_bought_on > {{ dbt.dateadd('day', -settings['recent_days'], 'period_end') }}
            as bought_recently
    from {{ ref('customer_categories_bought') }}
    where period in ('as_of', 'holdout')

),

-- Each subcategory bought, numbered: a short name that no category's text can be mistaken for.
subcategories as (

    select
        category,
        subcategory,
        row_number() over (order by category, subcategory) as subcategory_number
    from (
        select distinct
            category,
            subcategory
        from bought
    ) as bought_subcategories

),

-- A customer's profile as one text: the number of each subcategory bought, '+' when bought in
-- the last recent_days.
profiles as (

    select
        bought.period,
        bought.customer_key,
        {{ loyalty.set_key(dbt.concat([
            "cast(subcategories.subcategory_number as " ~ dbt.type_string() ~ ")",
            "case when bought.bought_recently then '+' else '' end",
        ])) }} as profile
    from bought
    inner join subcategories
        on bought.category = subcategories.category
        and bought.subcategory = subcategories.subcategory
    group by bought.period, bought.customer_key

),

profile_customers as (

    select
        period,
        customer_key,
        min(customer_key) over (partition by period, profile) as first_customer_key
    from profiles

),

-- What each profile's first customer bought: the per-customer work below is done on these.
profile_bought as (

    select bought.*
    from bought
    inner join profile_customers
        on bought.period = profile_customers.period
        and bought.customer_key = profile_customers.customer_key
    where profile_customers.customer_key = profile_customers.first_customer_key

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
    from profile_bought

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
    left join profile_bought as recent
        on customers.period = recent.period
        and customers.customer_key = recent.customer_key
        and buyers.category = recent.category
        and buyers.subcategory = recent.subcategory
        and recent.bought_recently
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
    inner join profile_bought as bought
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
        ranked.period,
        ranked.recommender,
        profile_customers.customer_key,
        ranked.recommendation_rank,
        ranked.category,
        ranked.subcategory,
        ranked.score
    from ranked
    -- Each profile's ranks, for every customer of the profile.
    inner join profile_customers
        on ranked.period = profile_customers.period
        and ranked.customer_key = profile_customers.first_customer_key
    where ranked.recommendation_rank <= {{ settings['top_k'] }}

)

select * from final
