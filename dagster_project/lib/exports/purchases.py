"""The purchases a group of customers made in a window: what campaign results, each customer's
response and plan progress all count.

`PURCHASES_CTES` follows a CTE `members` (one `customer_key` per row) and gives `purchases`: per
member with an order placed after `$after` and by `$through`, the orders, their revenue (the
lines that are not health data, `is_sensitive`, net of the returns made by `$through`: a return made later is not known
on that day, so a backfill of the day sees what the day saw), their gross margin (null unless
every counted line has one), the first purchase day, and whether
an order carried one of `$coupons` (upper case; Shopify gives an order's codes comma-separated).
"""

PURCHASES_CTES = """
orders as (
    select
        customer_key,
        transaction_id,
        cast(min(ordered_at) as date) as order_date,
        sum(case when not is_sensitive then line_amount end) as revenue,
        sum(case when not is_sensitive then margin_amount end) as margin,
        count(case when not is_sensitive and margin_amount is null then 1 end) as unknown_margins,
        bool_or(
            coupon_code is not null and list_has_any(
                list_transform(string_split(coupon_code, ','), lambda c: upper(trim(c))), $coupons
            )
        ) as used_coupon
    from marts.fct_transaction_lines
    where customer_key in (select customer_key from members)
        and event_date <= $through
    group by customer_key, transaction_id
),

purchases as (
    select
        customer_key,
        count(*) filter (where revenue > 0) as orders,
        sum(revenue) as revenue,
        -- Known only when every counted line of every order has a margin.
        case when sum(unknown_margins) = 0 then sum(margin) end as margin,
        min(order_date) filter (where revenue > 0) as first_purchase_date,
        bool_or(used_coupon) as used_coupon
    from orders
    where order_date > $after and order_date <= $through
    group by customer_key
)
"""
