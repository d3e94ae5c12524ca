with

source as (

    select * from {{ source('marketing', 'campaign_activity') }}

),

latest as (

    -- The same event reported in two deliveries is one event. The address's key goes with it:
    -- an erasure removes the address and leaves the key.
    select
        *,
        {{ loyalty.latest_delivery_rank('email_key, email, campaign, event_type, occurred_at') }}
            as delivery_rank
    from source

),

final as (

    select
        ---------- text
        email,
        email_normalized,
        email_key,
        campaign,
        event_type,
        event as tool_event,
        lower(trim(source_tool)) as source_tool,

        ---------- booleans
        coalesce(is_email_valid, false) as is_email_valid,

        ---------- timestamps
        occurred_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where delivery_rank = 1

)

select * from final
