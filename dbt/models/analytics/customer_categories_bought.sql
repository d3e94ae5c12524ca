{{ config(materialized='table') }}

{#-
    What the cross-selling recommendations learn from and are measured on: one row per period,
    customer and subcategory (of a category) they bought in it, with the last day bought. A
    product without a subcategory counts under its category's name. A working table, replaced
    on each as-of day. The periods, D being as_of_date and H holdout_days before it:
    as_of (the lookback_days up to D), holdout (the lookback_days up to H) and outcome (the days
    after H up to D); only what was known by the end of D is used.

    Health never goes in: prescription lines, every category that holds a prescription product,
    privacy.sensitive_categories, and the lines of products outside the catalogue (whose category
    is unknown) are left out here, before anything is counted.
-#}

{%- set settings = var('recommendations') -%}
{%- set holdout_start = dbt.dateadd('day', -settings['holdout_days'], loyalty.as_of_date()) -%}

with

lines as (

    select * from {{ ref('fct_transaction_lines') }}

),

products as (

    select * from {{ ref('dim_products') }}

),

health_categories as (

    select distinct category
    from products
    where is_prescription

),

periods as (

    select
        'as_of' as period,
        cast({{ dbt.dateadd('day', -settings['lookback_days'], loyalty.as_of_date()) }} as date)
            as period_start,
        {{ loyalty.as_of_date() }} as period_end

    union all

    select
        'holdout' as period,
        cast({{ dbt.dateadd('day', -settings['lookback_days'], holdout_start) }} as date)
            as period_start,
        cast({{ holdout_start }} as date) as period_end

    union all

    select
        'outcome' as period,
        cast({{ holdout_start }} as date) as period_start,
        {{ loyalty.as_of_date() }} as period_end

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        periods.period,
        periods.period_end,
        lines.customer_key,
        lines.category,
        coalesce(products.subcategory, lines.category) as subcategory,
        max(lines.order_date) as last_bought_on
    from lines
    -- Within the period: after its first day (exclusive), up to its last.
    inner join periods
        on lines.order_date > periods.period_start
        and lines.order_date <= periods.period_end
    inner join products
        on lines.sku = products.sku
    left join health_categories
        on lines.category = health_categories.category
    where lines.customer_key is not null
        and lines.line_type = 'sale'
        and not lines.is_sensitive
        and health_categories.category is null
        and not {{ loyalty.is_named_health_category('lines.category') }}
        and lines.event_date <= {{ loyalty.as_of_date() }}
    group by
        periods.period,
        periods.period_end,
        lines.customer_key,
        lines.category,
        coalesce(products.subcategory, lines.category)

)

select * from final
