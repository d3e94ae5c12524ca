{#-
    What the email tools reported, by person: the address an event names is matched to the
    customer whose contact address it is (by its keyed hash, so an erased person, whose address
    is gone, matches nobody). Events for an address no customer has are left out.
-#}

with

activity as (

    select * from {{ ref('stg_marketing__campaign_activity') }}

),

contacts as (

    select
        customer_key,
        email_key
    from {{ ref('customer_contacts') }}
    where email_key is not null

),

final as (

    -- Distinct: one address written two ways ("Ana@…", "ana@…") is one key, one event.
    select distinct
        ---------- ids
        contacts.customer_key,

        ---------- text
        activity.campaign,
        activity.event_type,
        activity.source_tool,

        ---------- dates
        cast(activity.occurred_at as date) as occurred_date,

        ---------- timestamps
        activity.occurred_at

    from activity
    inner join contacts on activity.email_key = contacts.email_key

)

select * from final
