{#-
    One row per consent decision about an email address: every delivered version of a card member
    (the form's email_opt_in, yes or no, at updated_at) and every Shopify customer version whose
    email_marketing_consent is a decision (subscribed; unsubscribed, invalid or redacted = no; at
    its consent_updated_at, else updated_at). Shopify's not_subscribed and pending are no
    decision: an online checkout without the box ticked does not withdraw a consent given in the
    store. The address is named by its keyed hash (email_key): an erasure removes the address
    from the delivered rows and leaves the key, so the history of a shared address stays whole.
    Kept whole, so consent can be read as of any day. Unsubscribes from email tools are
    decisions of their own: stg_marketing__unsubscribes.
-#}

with

members as (

    select * from {{ ref('stg_pos__member_email_consents') }}

),

shopify_customers as (

    select * from {{ ref('stg_shopify__customer_email_consents') }}

),

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

card_events as (

    select distinct
        card_key as customer_key,
        'card' as channel,
        email_key,
        coalesce(has_email_opt_in, false) as has_consent,
        updated_at as event_at
    from members
    where card_key is not null and updated_at is not null

),

shopify_events as (

    select distinct
        identities.customer_key,
        'shopify' as channel,
        shopify_customers.email_key,
        coalesce(shopify_customers.email_marketing_consent_state = 'subscribed', false)
            as has_consent,
        coalesce(shopify_customers.email_marketing_consent_updated_at, shopify_customers.updated_at)
            as event_at
    from shopify_customers
    inner join identities
        on shopify_customers.shopify_customer_key = identities.source_key
        and identities.source_system = 'shopify'
    where shopify_customers.updated_at is not null
        and shopify_customers.email_marketing_consent_state in (
            'subscribed', 'unsubscribed', 'invalid', 'redacted'
        )

),

final as (

    select * from card_events
    union all
    select * from shopify_events

)

select * from final
