{#-
    One row per customer, as_of_date and rank (1 … recommendations.top_k): the subcategories
    (with their category) the customer is likeliest to buy next and has not bought in the last
    recent_days, by what the chain's customers buy together (recommendation_candidates,
    recommender co_purchase), and the subcategory's best seller over those days as the product to show.
    Health never goes in nor out (see customer_categories_bought).
-#}

{%- set settings = var('recommendations') -%}

with

candidates as (

    select * from {{ ref('recommendation_candidates') }}

),

lines as (

    select * from {{ ref('fct_transaction_lines') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

recommended as (

    select
        customer_key,
        recommendation_rank,
        category,
        subcategory,
        score
    from candidates
    where period = 'as_of'
        and recommender = 'co_purchase'

),

-- How many customers bought each product over the last recent_days.
product_buyers as (

    select
        lines.category,
        coalesce(products.subcategory, lines.category) as subcategory,
        lines.sku,
        products.product_name,
        count(distinct lines.customer_key) as buyer_count
    from lines
    inner join products
        on lines.sku = products.sku
    where lines.customer_key is not null
        and lines.line_type = 'sale'
        and not products.is_prescription
        and lines.order_date <= {{ loyalty.as_of_date() }}
        and lines.order_date
        > {{ dbt.dateadd('day', -settings['recent_days'], loyalty.as_of_date()) }}
    group by
        lines.category,
        coalesce(products.subcategory, lines.category),
        lines.sku,
        products.product_name

),

best_sellers as (

    select
        category,
        subcategory,
        sku,
        product_name,
        row_number() over (
            partition by category, subcategory
            order by buyer_count desc, sku asc
        ) as seller_rank
    from product_buyers

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        recommended.customer_key,
        recommended.recommendation_rank,
        recommended.category,
        recommended.subcategory,
        recommended.score,
        best_sellers.sku,
        best_sellers.product_name
    from recommended
    left join best_sellers
        on recommended.category = best_sellers.category
        and recommended.subcategory = best_sellers.subcategory
        and best_sellers.seller_rank = 1

)

select * from final
