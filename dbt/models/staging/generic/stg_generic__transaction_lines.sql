{#-
    The generic source has no record key, so two identical rows are two sales: rows are not
    deduplicated (ingest replaces a day's rows when the day is re-run).
-#}
with

source as (

    select * from {{ source('generic', 'transactions') }}

),

final as (

    select
        ----------  ids
        -- Without a mapped order id, one order per customer and timestamp.
        coalesce(
            order_id,
            {{ dbt.concat([
                "coalesce(customer_key, 'anonymous')",
                "'/'",
                "cast(ordered_at as " ~ dbt.type_string() ~ ")"
            ]) }}
        ) as order_id,
        order_id is null as is_order_id_derived,
        customer_key as generic_customer_key,
        sku,
        store_id,

        ---------- numerics
        quantity,
        unit_price as unit_price_amount,
        -- Money to the cent, per row, as the reconciliation test counts it.
        {{ loyalty.to_money('coalesce(amount, quantity * unit_price)') }} as line_amount,

        ---------- booleans
        coalesce(amount, quantity * unit_price, quantity, 0) < 0 as is_return,

        ---------- timestamps
        ordered_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from source

)

select * from final
