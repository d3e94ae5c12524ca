{#-
    One row per customer_key with a contact record and as_of_date: whether the person may be sent
    marketing email on that day, and if not, why. The address is the one pii.customer_contacts
    keeps; its consent is the latest consent decision about that address by the end of the day,
    on the card form or in Shopify, whoever made it (a withdrawal anywhere counts everywhere); an
    unsubscribe of the address coming back from an email tool by the end of the day wins over
    every older consent (a newer consent wins over it); an erased person is never contactable,
    whatever the day. In pii (it holds the address), computed with the analytics as of the day
    (models/pii/as_of: the configuration of the analytics, in the pii schema).

    SMS the same way, for the number pii.customer_contacts keeps: its consent is the latest card
    form decision about that number (sms_opt_in) by the end of the day; an erased person or a
    person without a number that parses is never contactable by SMS.
-#}

with

contacts as (

    select * from {{ ref('customer_contacts') }}

),

consent_events as (

    select * from {{ ref('email_consent_events') }}
    where event_at < {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }}

),

sms_consent_events as (

    select * from {{ ref('stg_pos__member_sms_consents') }}
    where updated_at < {{ dbt.dateadd('day', 1, loyalty.as_of_date()) }}
        and phone_key is not null

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

latest_sms_consent as (

    select
        contacts.customer_key,
        coalesce(sms_consent_events.has_sms_opt_in, false) as has_consent,
        sms_consent_events.updated_at as consent_at,
        row_number() over (
            partition by contacts.customer_key
            order by sms_consent_events.updated_at desc, sms_consent_events.has_sms_opt_in asc
        ) as event_rank
    from contacts
    inner join sms_consent_events
        on contacts.phone_key = sms_consent_events.phone_key

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
        contacts.phone_e164,
        coalesce(latest_sms_consent.has_consent, false) as has_sms_consent,
        latest_sms_consent.consent_at as sms_consent_at,
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
    left join latest_sms_consent
        on contacts.customer_key = latest_sms_consent.customer_key
        and latest_sms_consent.event_rank = 1

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
        unsubscribed_at,

        ---------- SMS
        phone_e164,
        has_sms_consent,
        has_sms_consent and not is_erased and phone_e164 is not null as is_sms_contactable,
        case
            when is_erased then 'erased'
            when phone_e164 is null then 'no_phone'
            when not has_sms_consent then 'no_sms_consent'
        end as not_sms_contactable_reason,
        sms_consent_at
    from joined

)

select * from final
