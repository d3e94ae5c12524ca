with

source as (

    select * from {{ source('pos', 'members') }}

),

latest as (

    -- Each row is the member's whole record as of updated_at: the latest version wins. By the
    -- card's key, which an erasure leaves in place of the card number.
    select
        *,
        {{ loyalty.latest_delivery_rank('card_key', 'updated_at desc') }} as version_rank
    from source

),

final as (

    select
        ----------  ids
        card_id,
        card_key,
        home_store_id,

        ---------- text
        first_name,
        last_name,
        email,
        email_normalized,
        phone,
        phone_e164,
        email_key,
        phone_key,
        -- Spreadsheets drop the leading zero of 08001: put it back on four-digit codes.
        case
            when {{ loyalty.regexp_like('trim(postal_code)', "'^[0-9]{4}$'") }}
                then {{ dbt.concat(["'0'", 'trim(postal_code)']) }}
            else trim(postal_code)
        end as postal_code,
        case
            when lower(trim(marital_status))
                in ('single', 'married', 'divorced', 'widowed', 'unknown')
                then lower(trim(marital_status))
            when marital_status is null then null
            else 'unknown'
        end as marital_status,

        ---------- booleans
        coalesce(is_email_valid, false) as is_email_valid,
        email_opt_in as has_email_opt_in,
        sms_opt_in as has_sms_opt_in,

        ---------- dates
        enrolled_on,
        birth_date,

        ---------- timestamps
        updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from latest
    where version_rank = 1

)

select * from final
