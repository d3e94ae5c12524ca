{#-
    Net revenue in marts.fct_transactions equals, to the cent, the same total computed straight
    from raw by its own path:
    - POS: line_amount of every ticket line, one copy per (ticket_id, line_number);
    - Shopify: subtotal_price of each order's latest version, unless cancelled, minus the refund
      line subtotals of that version;
    - generic: every row's amount (or quantity × unit_price), rounded to the cent.
    Returns one row (the three totals and the mart's) when they differ.
-#}

with

pos_raw as (

    select
        line_amount,
        row_number() over (
            partition by ticket_id, line_number
            order by partition_date desc, source_file desc, source_line desc
        ) as copy_rank
    from {{ source('pos', 'tickets') }}

),

pos_total as (

    select coalesce(sum(line_amount), 0) as amount
    from pos_raw
    where copy_rank = 1

),

order_versions as (

    select
        order_id,
        partition_date,
        source_file,
        source_line,
        subtotal_price,
        cancelled_at,
        row_number() over (
            partition by order_id
            order by updated_at desc, partition_date desc, source_file desc, source_line desc
        ) as version_rank
    from {{ source('shopify', 'orders') }}

),

kept_orders as (

    select * from order_versions
    where version_rank = 1
        and cancelled_at is null

),

shopify_sales as (

    select coalesce(sum(subtotal_price), 0) as amount
    from kept_orders

),

shopify_refunds as (

    select coalesce(sum(refund_lines.subtotal), 0) as amount
    from {{ source('shopify', 'refund_lines') }} as refund_lines
    inner join kept_orders
        on refund_lines.order_id = kept_orders.order_id
        and refund_lines.partition_date = kept_orders.partition_date
        and refund_lines.source_file = kept_orders.source_file
        and refund_lines.source_line = kept_orders.source_line

),

generic_total as (

    select coalesce(sum(round(coalesce(amount, quantity * unit_price), 2)), 0) as amount
    from {{ source('generic', 'transactions') }}

),

mart_total as (

    select coalesce(sum(net_amount), 0) as amount
    from {{ ref('fct_transactions') }}

),

compared as (

    select
        pos_total.amount as pos_amount,
        shopify_sales.amount - shopify_refunds.amount as shopify_amount,
        generic_total.amount as generic_amount,
        pos_total.amount
            + shopify_sales.amount
            - shopify_refunds.amount
            + generic_total.amount as raw_net_amount,
        mart_total.amount as mart_net_amount
    from pos_total
    cross join shopify_sales
    cross join shopify_refunds
    cross join generic_total
    cross join mart_total

)

select * from compared
where cast(raw_net_amount as decimal(18, 2)) <> cast(mart_net_amount as decimal(18, 2))
