with

source as (

    select * from {{ source('marketing', 'unsubscribes') }}

),

latest as (

    -- The same opt-out reported in two deliveries is one opt-out. The address's key goes with
    -- it: an erasure removes the address and leaves the key.
    select
        *,
        {{ loyalty.latest_delivery_rank('email_key, email, unsubscribed_at') }} as delivery_rank
    from source

),

final as (

    select
        ---------- text
        email,
        email_normalized,
        email_key,
        lower(trim(source_tool)) as source_tool,
        reason,

        ---------- booleans
        coalesce(is_email_valid, false) as is_email_valid,

        ---------- timestamps
        unsubscribed_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
