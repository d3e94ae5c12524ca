{#-
    Who is who. A loyalty card is a person. A Shopify customer is the card member whose valid
    normalised email equals theirs, else whose E.164 phone equals theirs (compared by their keyed
    hashes, which an erasure leaves in place); among several matching cards: the email match
    first, then the earliest enrolled_on, then the smallest card_id (an erased card's number is
    gone: it comes last, then the smallest card_key).
    Otherwise the Shopify customer is a person of their own, as is every generic customer.
    One hop: two Shopify customers are never linked through a card, or a card to a card.
-#}

with

members as (

    select * from {{ ref('stg_pos__members') }}

),

ticket_lines as (

    select * from {{ ref('stg_pos__ticket_lines') }}

),

shopify_customers as (

    select * from {{ ref('int_shopify_customers_unioned') }}

),

generic_lines as (

    select * from {{ ref('stg_generic__transaction_lines') }}

),

-- A card is a person whether its enrolment was delivered or it was only seen on a ticket.
cards as (

    select card_key from members

    union

    select card_key from ticket_lines
    where card_key is not null

),

email_matches as (

    select
        shopify_customers.shopify_customer_key,
        members.card_key,
        members.card_id,
        members.enrolled_on,
        'email' as match_rule,
        1 as match_priority
    from shopify_customers
    inner join members
        on shopify_customers.email_key = members.email_key
    where shopify_customers.is_email_valid
        and members.is_email_valid

),

phone_matches as (

    select
        shopify_customers.shopify_customer_key,
        members.card_key,
        members.card_id,
        members.enrolled_on,
        'phone' as match_rule,
        2 as match_priority
    from shopify_customers
    inner join members
        on shopify_customers.phone_key = members.phone_key

),

candidate_matches as (

    select * from email_matches

    union all

    select * from phone_matches

),

ranked_matches as (

    select
        *,
        row_number() over (
            partition by shopify_customer_key
            order by match_priority, enrolled_on, card_id nulls last, card_key
        ) as match_rank
    from candidate_matches

),

best_matches as (

    select * from ranked_matches
    where match_rank = 1

),

card_identities as (

    select
        'card' as source_system,
        card_key as source_key,
        card_key as customer_key,
        'card' as match_rule
    from cards

),

shopify_identities as (

    select
        'shopify' as source_system,
        shopify_customers.shopify_customer_key as source_key,
        coalesce(
            best_matches.card_key,
            shopify_customers.shopify_customer_key
        ) as customer_key,
        coalesce(best_matches.match_rule, 'unmatched') as match_rule
    from shopify_customers
    left join best_matches
        on shopify_customers.shopify_customer_key = best_matches.shopify_customer_key

),

generic_identities as (

    select distinct
        'generic' as source_system,
        generic_customer_key as source_key,
        generic_customer_key as customer_key,
        'generic' as match_rule
    from generic_lines
    where generic_customer_key is not null

),

unioned as (

    select * from card_identities

    union all

    select * from shopify_identities

    union all

    select * from generic_identities

),

final as (

    select
        ----------  ids
        {{ dbt.concat(['source_system', "':'", 'source_key']) }} as identity_id,
        source_system,
        source_key,
        customer_key,

        ---------- text
        match_rule

    from unioned

)

select * from final
