with

source as (

    select * from {{ source('privacy', 'erasure_requests') }}

),

latest as (

    select
        *,
        {{ loyalty.latest_delivery_rank('request_id') }} as delivery_rank
    from source

),

final as (

    -- The person is named by keys only: keyed hashes of the card, the Shopify customer and the
    -- address. raw keeps nothing else of a request once the erasure has been applied.
    select
        ----------  ids
        request_id,
        card_key,
        shopify_customer_key,

        email_key,

        ---------- booleans
        coalesce(is_email_valid, false) as is_email_valid,

        ---------- timestamps
        requested_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
