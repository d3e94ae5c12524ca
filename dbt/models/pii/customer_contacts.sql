{#-
    One row per person with a contact record (a loyalty-card member, a Shopify customer, or both):
    the card's values first, the matched Shopify customer's as fallback. An email address travels
    with its own consent: the card's address and email_opt_in when the card has a valid address,
    else the Shopify address and its email_marketing_consent. A person named by an erasure
    request (by card, Shopify customer or address, whenever it arrived) keeps the row and the
    customer_key, with every personal value removed (is_erased): re-runs and backfills read the
    request again, so the values never come back. Unsubscribes are applied by the exports.
-#}

with

members as (

    select * from {{ ref('stg_pos__members') }}

),

-- A person's Shopify record: the one with an account record, most recently updated.
online as (

    select * from {{ ref('int_customer_online_accounts') }}

),

erased as (

    select * from {{ ref('int_customers_erased') }}

),

people as (

    select card_key as customer_key from members

    union

    select customer_key from online

),

joined as (

    select
        people.customer_key,
        members.card_key is not null as has_member_record,
        case
            when members.is_email_valid then 'card'
            when online.is_email_valid then 'shopify'
            when members.email is not null then 'card'
            when online.email is not null then 'shopify'
        end as email_source,

        members.first_name as card_first_name,
        members.last_name as card_last_name,
        members.email as card_email,
        members.email_normalized as card_email_normalized,
        members.email_key as card_email_key,
        members.is_email_valid as card_is_email_valid,
        members.has_email_opt_in as card_email_opt_in,
        members.updated_at as card_updated_at,
        members.phone_e164 as card_phone_e164,
        members.phone_key as card_phone_key,
        members.birth_date,
        members.postal_code as card_postal_code,
        members.marital_status,

        online.first_name as online_first_name,
        online.last_name as online_last_name,
        online.email as online_email,
        online.email_normalized as online_email_normalized,
        online.email_key as online_email_key,
        online.is_email_valid as online_is_email_valid,
        online.has_email_opt_in as online_email_opt_in,
        online.email_marketing_consent_updated_at as online_consent_updated_at,
        online.phone_e164 as online_phone_e164,
        online.phone_key as online_phone_key,
        online.postal_code as online_postal_code,
        erased.customer_key is not null as is_erased
    from people
    left join members
        on people.customer_key = members.card_key
    left join online
        on people.customer_key = online.customer_key
    left join erased
        on people.customer_key = erased.customer_key

),

final as (

    select
        ----------  ids
        customer_key,

        ---------- text
        case when not is_erased then coalesce(card_first_name, online_first_name) end as first_name,
        case when not is_erased then coalesce(card_last_name, online_last_name) end as last_name,
        case
            when is_erased then null
            when email_source = 'card' then card_email
            else online_email
        end as email,
        case
            when is_erased then null
            when email_source = 'card' then card_email_normalized
            else online_email_normalized
        end as email_normalized,
        -- The address's keyed hash: what consents and unsubscribes are matched on.
        case
            when is_erased then null
            when email_source = 'card' then card_email_key
            else online_email_key
        end as email_key,
        case when not is_erased then coalesce(card_phone_e164, online_phone_e164) end as phone_e164,
        -- The number's keyed hash: what SMS consents are matched on (the number kept above).
        case
            when is_erased then null
            when card_phone_e164 is not null then card_phone_key
            else online_phone_key
        end as phone_key,
        case
            when not is_erased then coalesce(card_postal_code, online_postal_code)
        end as postal_code,
        case when not is_erased then marital_status end as marital_status,
        case when has_member_record then 'card' else 'shopify' end as contact_source,
        -- The channel the address (and so its consent) comes from.
        case when not is_erased then email_source end as email_source,

        ---------- booleans
        coalesce(
            not is_erased
            and case
                when email_source = 'card' then card_is_email_valid else online_is_email_valid
            end,
            false
        ) as is_email_valid,
        coalesce(
            not is_erased
            and case
                when email_source = 'card' then card_email_opt_in else online_email_opt_in
            end,
            false
        ) as email_opt_in,
        is_erased,

        ---------- dates and timestamps
        case when not is_erased then birth_date end as birth_date,
        case
            when is_erased then null
            when email_source = 'card' then card_updated_at
            else online_consent_updated_at
        end as consent_updated_at

    from joined

)

select * from final
