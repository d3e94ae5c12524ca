with

source as (

    select * from {{ source('shopify', 'orders') }}

),

latest as (

    -- An order is delivered again whenever it changes: the version with the latest updated_at wins.
    select
        *,
        {{ loyalty.latest_delivery_rank('order_id', 'updated_at desc') }} as version_rank
    from source

),

current_versions as (

    select * from latest
    where version_rank = 1

),

final as (

    select
        ----------  ids
        order_id,
        order_name,
        customer_key as shopify_customer_key,

        ---------- text
        customer_email,
        customer_phone,
        -- Normalised at ingest (email-validator, phonenumbers), as for the customers file.
        customer_email_normalized,
        customer_phone_e164,
        customer_email_key,
        customer_phone_key,
        financial_status,
        fulfillment_status,
        cancel_reason,
        currency,
        source_name,
        discount_codes,

        ---------- numerics
        subtotal_price as subtotal_amount,
        total_price as total_amount,
        total_discounts as discount_amount,
        total_tax as tax_amount,

        ---------- booleans
        cancelled_at is not null as is_cancelled,
        taxes_included as is_tax_included,

        ---------- timestamps
        created_at,
        updated_at,
        processed_at,
        cancelled_at,

        ---------- lineage: identifies the version its line items and refunds belong to
        partition_date,
        source_file,
        source_line

    from current_versions

)

select * from final
