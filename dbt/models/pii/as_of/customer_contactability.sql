{#-
    One row per customer_key with a contact record and as_of_date: whether the person may be sent
    marketing email on that day, and if not, why. The address is the one pii.customer_contacts
    keeps; its consent is the latest consent decision about that address by the end of the day,
    on the card form or in Shopify, whoever made it (a withdrawal anywhere counts everywhere); an
    unsubscribe of the address coming back from an email tool by the end of the day wins over
    every older consent (a newer consent wins over it); an erased person is never contactable,
    whatever the day. In pii (it holds the address), computed with the analytics as of the day
    (models/pii/as_of: the configuration of the analytics, in the pii schema).
-#}

with

contacts as (

    select * from {{ ref('customer_contacts') }}

),

consent_events as (

    select * from {{ ref('email_consent_events') }}
    where event_at < {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }}

),

unsubscribes as (

    select * from {{ ref('stg_marketing__unsubscribes') }}
    where unsubscribed_at < {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }}

),

latest_consent as (

    select
        contacts.customer_key,
        consent_events.has_consent,
        consent_events.event_at as consent_at,
        row_number() over (
            partition by contacts.customer_key
            order by consent_events.event_at desc, consent_events.has_consent asc
        ) as event_rank
    from contacts
    inner join consent_events
        on contacts.email_key = consent_events.email_key

),

last_unsubscribe as (

    select
        email_key,
        max(unsubscribed_at) as unsubscribed_at
    from unsubscribes
    group by email_key

),

joined as (

    select
        contacts.customer_key,
        contacts.email_normalized,
        contacts.email_source,
        contacts.is_email_valid,
        contacts.is_erased,
        coalesce(latest_consent.has_consent, false) as has_consent,
        latest_consent.consent_at,
        last_unsubscribe.unsubscribed_at,
        (
            last_unsubscribe.unsubscribed_at is not null
            and (
                latest_consent.consent_at is null
                or last_unsubscribe.unsubscribed_at >= latest_consent.consent_at
            )
        ) as is_unsubscribed
    from contacts
    left join latest_consent
        on contacts.customer_key = latest_consent.customer_key
        and latest_consent.event_rank = 1
    left join last_unsubscribe
        on contacts.email_key = last_unsubscribe.email_key

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        customer_key,
        email_normalized,
        email_source,
        has_consent,
        is_unsubscribed,
        is_erased,
        is_email_valid,
        has_consent and not is_unsubscribed and not is_erased and is_email_valid
            as is_contactable,
        case
            when is_erased then 'erased'
            when is_unsubscribed then 'unsubscribed'
            when not has_consent then 'no_consent'
            when not is_email_valid then 'invalid_email'
        end as not_contactable_reason,
        consent_at,
        unsubscribed_at
    from joined

)

select * from final
