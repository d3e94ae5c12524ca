{{ config(materialized='table') }}

{#-
    The purchases analytics see as of the day: one row per order placed by a known customer on or
    before as_of_date, valued at what had not been returned or refunded by the end of that day,
    its health lines left out (prescriptions and privacy.sensitive_categories: is_sensitive; they
    never drive a segment, tier or value model). An order whose value so counted is not positive
    (only health items, returned in full) is no purchase;
    a source that gives no amounts at all counts every order, valued null.
    A working table: it holds the purchases as of the last day computed (the CLV asset reads it
    for its holdout check); the day's results are kept in the tables built from it.
-#}

with

lines as (

    select * from {{ ref('fct_transaction_lines') }}

),

as_of_lines as (

    select *
    from lines
    where customer_key is not null
        and order_date <= {{ loyalty.as_of_date() }}
        and event_date <= {{ loyalty.as_of_date() }}

),

orders as (

    select
        customer_key,
        transaction_id,
        order_date,
        channel,
        sum(case when is_sensitive then 0 else line_amount end) as purchase_amount,
        sum(line_amount) as net_amount,
        -- The gross margin of the lines counted, known only when every one of them has one.
        case
            when count(case when not is_sensitive and margin_amount is null then 1 end) = 0
                then sum(case when is_sensitive then 0 else margin_amount end)
        end as margin_amount,
        -- A deal: a coupon or a discount on a line analytics see (prescriptions never have one).
        max(
            case
                when not is_sensitive and (discount_amount > 0 or coupon_code is not null)
                    then 1
                else 0
            end
        ) = 1 as has_deal
    from as_of_lines
    group by customer_key, transaction_id, order_date, channel

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        *
    from orders
    -- A source without amounts (an event log of customer and date) still tells purchases apart.
    where purchase_amount > 0 or purchase_amount is null

)

select * from final
