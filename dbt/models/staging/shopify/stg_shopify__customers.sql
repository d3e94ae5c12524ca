with

source as (

    select * from {{ source('shopify', 'customers') }}

),

latest as (

    select
        *,
        {{ loyalty.latest_delivery_rank('customer_key', 'updated_at desc') }} as version_rank
    from source

),

final as (

    select
        ----------  ids
        customer_key as shopify_customer_key,

        ---------- text
        first_name,
        last_name,
        email,
        email_normalized,
        phone,
        phone_e164,
        email_key,
        phone_key,
        state as account_state,
        tags,
        lower(email_marketing_consent_state) as email_marketing_consent_state,
        email_marketing_opt_in_level,
        default_address_zip as postal_code,
        default_address_city as city,
        upper(default_address_country_code) as country_code,

        ---------- booleans
        coalesce(is_email_valid, false) as is_email_valid,
        verified_email as is_email_verified,
        coalesce(lower(email_marketing_consent_state) = 'subscribed', false) as has_email_opt_in,

        ---------- timestamps
        created_at,
        updated_at,
        email_marketing_consent_updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where version_rank = 1

)

select * from final
