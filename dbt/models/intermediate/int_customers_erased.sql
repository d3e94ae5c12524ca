{#-
    One row per person an erasure request names: by card, by Shopify customer, or by an address
    of theirs (on the card, or on their most recent Shopify record), all compared by keyed
    hashes (the request keeps nothing else). Keys only: what reads it
    (pii.customer_contacts, marts.dim_customers) removes the person's values.
-#}

with

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

members as (

    select * from {{ ref('stg_pos__members') }}

),

erasure_requests as (

    select * from {{ ref('stg_privacy__erasure_requests') }}

),

online as (

    select * from {{ ref('int_customer_online_accounts') }}

),

by_identity as (

    select distinct identities.customer_key
    from erasure_requests
    inner join identities
        on (erasure_requests.card_key = identities.source_key and identities.source_system = 'card')
        or (
            erasure_requests.shopify_customer_key = identities.source_key
            and identities.source_system = 'shopify'
        )

),

by_card_address as (

    select members.card_key as customer_key
    from erasure_requests
    inner join members
        on erasure_requests.email_key = members.email_key

),

by_online_address as (

    select online.customer_key
    from erasure_requests
    inner join online
        on erasure_requests.email_key = online.email_key

),

final as (

    select customer_key from by_identity
    union
    select customer_key from by_card_address
    union
    select customer_key from by_online_address

)

select * from final
