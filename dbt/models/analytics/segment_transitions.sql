{{ config(materialized='view') }}

{#-
    Who moved where between consecutive as-of dates: for every as_of_date of
    customer_segment_history and the as-of date before it in that history (consecutive as-of
    dates: the dates present in the history, in order, whatever the gap between them), the number
    of customers going from one value to another, for each dimension (rfm_segment, value_tier,
    lifecycle_stage). from_value is null for a customer without a value in that dimension on the
    earlier date (not yet a customer, or a prospect without a segment); to_value is null for one
    who no longer has one. A view over the whole history, so a day computed later (or again)
    shows at once.
-#}

with

history as (

    select * from {{ ref('customer_segment_history') }}

),

as_of_dates as (

    select distinct as_of_date
    from history

),

date_pairs as (

    select
        lag(as_of_date) over (order by as_of_date) as previous_as_of_date,
        as_of_date
    from as_of_dates

),

consecutive_dates as (

    select *
    from date_pairs
    where previous_as_of_date is not null

),

-- One row per customer, date and dimension in which the customer has a value.
positions as (

    select
        as_of_date,
        customer_key,
        'rfm_segment' as dimension,
        rfm_segment as dimension_value
    from history
    where rfm_segment is not null

    union all

    select
        as_of_date,
        customer_key,
        'value_tier' as dimension,
        value_tier as dimension_value
    from history
    where value_tier is not null

    union all

    select
        as_of_date,
        customer_key,
        'lifecycle_stage' as dimension,
        lifecycle_stage as dimension_value
    from history
    where lifecycle_stage is not null

),

earlier_positions as (

    select
        consecutive_dates.previous_as_of_date,
        consecutive_dates.as_of_date,
        positions.customer_key,
        positions.dimension,
        positions.dimension_value
    from consecutive_dates
    inner join positions
        on consecutive_dates.previous_as_of_date = positions.as_of_date

),

later_positions as (

    select
        consecutive_dates.previous_as_of_date,
        consecutive_dates.as_of_date,
        positions.customer_key,
        positions.dimension,
        positions.dimension_value
    from consecutive_dates
    inner join positions
        on consecutive_dates.as_of_date = positions.as_of_date

),

moves as (

    select
        coalesce(later_positions.previous_as_of_date, earlier_positions.previous_as_of_date)
            as previous_as_of_date,
        coalesce(later_positions.as_of_date, earlier_positions.as_of_date) as as_of_date,
        coalesce(later_positions.dimension, earlier_positions.dimension) as dimension,
        earlier_positions.dimension_value as from_value,
        later_positions.dimension_value as to_value
    from later_positions
    full outer join earlier_positions
        on later_positions.as_of_date = earlier_positions.as_of_date
        and later_positions.customer_key = earlier_positions.customer_key
        and later_positions.dimension = earlier_positions.dimension

),

final as (

    select
        as_of_date,
        previous_as_of_date,
        dimension,
        from_value,
        to_value,
        from_value is not null and to_value is not null and from_value = to_value as is_unchanged,
        count(*) as customers
    from moves
    group by as_of_date, previous_as_of_date, dimension, from_value, to_value

)

select * from final
