{#-
    Monthly acquisition cohorts: one row per as_of_date, cohort_month (the month of a customer's
    first purchase) and months_since_first_purchase (0 = the cohort month itself), for every month
    from the cohort month to the month of as_of_date (still in progress unless as_of_date is its
    last day: is_complete_month). A customer is
    retained in a month when they made a purchase in it; the amounts are those purchases' values
    as seen on as_of_date (returns by then netted): purchase_amount without prescription lines,
    net_amount with them.
-#}

with

purchases as (

    select * from {{ ref('customer_purchases') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

-- 1200 months: a hundred years of history is more than any retailer keeps.
month_numbers as (

    {{ dbt.generate_series(1200) }}  -- noqa: LT15 (the macro renders blank lines)

),

dated_purchases as (

    select
        customer_key,
        cast({{ dbt.date_trunc('month', 'order_date') }} as date) as purchase_month,
        purchase_amount,
        net_amount
    from purchases

),

cohort_members as (

    select
        customer_key,
        min(purchase_month) as cohort_month
    from dated_purchases
    group by customer_key

),

cohorts as (

    select
        cohort_month,
        count(*) as cohort_customers
    from cohort_members
    group by cohort_month

),

cohort_months as (

    select
        cohorts.cohort_month,
        cohorts.cohort_customers,
        -- A bigint on every engine (Spark's generate_series numbers are 4-byte integers).
        cast(month_numbers.generated_number - 1 as {{ dbt.type_bigint() }}) as months_since_first_purchase,
        cast({{ dbt.dateadd('month', 'month_numbers.generated_number - 1', 'cohorts.cohort_month') }} as date) as activity_month
    from cohorts
    inner join month_numbers
        on month_numbers.generated_number - 1
            <= {{ dbt.datediff('cohorts.cohort_month', dbt.date_trunc('month', loyalty.as_of_date()), 'month') }}

),

activity as (

    select
        cohort_members.cohort_month,
        dated_purchases.purchase_month as activity_month,
        count(distinct dated_purchases.customer_key) as retained_customers,
        count(*) as orders_count,
        sum(dated_purchases.purchase_amount) as purchase_amount,
        sum(dated_purchases.net_amount) as net_amount
    from dated_purchases
    inner join cohort_members
        on dated_purchases.customer_key = cohort_members.customer_key
    group by cohort_members.cohort_month, dated_purchases.purchase_month

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        cohort_months.cohort_month,
        cohort_months.months_since_first_purchase,
        cohort_months.activity_month,
        cohort_months.cohort_customers,
        coalesce(activity.retained_customers, 0) as retained_customers,
        {{ loyalty.ratio('coalesce(activity.retained_customers, 0)', 'cohort_months.cohort_customers') }} as retention_rate,
        coalesce(activity.orders_count, 0) as orders_count,
        -- No purchase in the month: 0; purchases from a source without amounts: null.
        {{ loyalty.to_money('case when activity.cohort_month is null then 0 else activity.purchase_amount end') }}
            as purchase_amount,
        {{ loyalty.to_money('case when activity.cohort_month is null then 0 else activity.net_amount end') }}
            as net_amount,
        {{ dbt.last_day('cohort_months.activity_month', 'month') }} <= {{ loyalty.as_of_date() }} as is_complete_month
    from cohort_months
    left join activity
        on cohort_months.cohort_month = activity.cohort_month
        and cohort_months.activity_month = activity.activity_month

)

select * from final
