{#-
    One row per ticket or order, net of its returns and refunds. Money is decimal(18,2);
    amounts are null only for a generic transaction whose source gives no values at all.
-#}

{{ config(
    materialized='table' if target.type == 'spark' else 'incremental',
    incremental_strategy='replace_transactions',
) }}
-- depends_on: {{ ref('int_transactions_changed') }}
-- Incremental on DuckDB: a nightly build replaces the transactions of int_transactions_changed.

with

transaction_lines as (

    select * from {{ ref('fct_transaction_lines') }}
    {{ loyalty.only_changed_transactions() }}

),

aggregated as (

    select
        transaction_id,
        max(source) as source,
        max(channel) as channel,
        max(customer_key) as customer_key,
        max(store_id) as store_id,
        min(ordered_at) as ordered_at,
        count(*) as line_count,
        sum(quantity) as units,
        count(line_amount) as valued_line_count,
        sum(case when line_type = 'sale' then 1 else 0 end) as sale_line_count,
        coalesce(sum(case when line_type = 'sale' then line_amount end), 0) as gross_amount,
        coalesce(sum(case when line_type = 'sale' then discount_amount end), 0) as discount_amount,
        coalesce(
            -1 * sum(case when line_type <> 'sale' then line_amount end), 0
        ) as returned_amount,
        coalesce(sum(case when is_prescription then line_amount end), 0) as prescription_net_amount,
        count(net_of_vat_amount) as net_of_vat_line_count,
        sum(net_of_vat_amount) as net_of_vat_amount,
        count(margin_amount) as margin_line_count,
        sum(margin_amount) as margin_amount,
        max(case when line_type = 'sale' then coupon_code end) as coupon_code
    from transaction_lines
    group by transaction_id

),

final as (

    select
        ----------  ids
        transaction_id,
        customer_key,
        store_id,

        ---------- text
        source,
        channel,
        coupon_code,

        ---------- numerics
        line_count,
        cast(units as decimal(18, 3)) as units,
        -- A Jinja loop: sqlfluff places its rendered lines wrongly, so indentation goes unchecked.
        -- noqa: disable=LT02
        {% for amount in ['gross_amount', 'discount_amount', 'returned_amount'] -%}
        case
            when valued_line_count > 0 then cast({{ amount }} as {{ loyalty.type_money() }})
        end as {{ amount }},
        {% endfor -%}
        -- noqa: enable=LT02
        case
            when valued_line_count > 0
                then cast(gross_amount - returned_amount as {{ loyalty.type_money() }})
        end as net_amount,
        case
            when valued_line_count > 0
                then cast(prescription_net_amount as {{ loyalty.type_money() }})
        end as prescription_net_amount,
        -- Known only when every line's is: a part would pass for the whole.
        case
            when net_of_vat_line_count = line_count
                then cast(net_of_vat_amount as {{ loyalty.type_money() }})
        end as net_of_vat_amount,
        case
            when margin_line_count = line_count
                then cast(margin_amount as {{ loyalty.type_money() }})
        end as margin_amount,

        ---------- booleans
        coupon_code is not null as has_coupon,
        sale_line_count = 0 as is_orphan_return,

        ---------- dates and timestamps
        ordered_at,
        cast(ordered_at as date) as order_date

    from aggregated

)

select * from final
