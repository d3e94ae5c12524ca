{#-
    Every delivered version of a card member's SMS consent (the form's sms_opt_in at updated_at),
    not only the latest: consent is read as of any day (pii.customer_contactability). The number
    is named by its keyed hash only (of its E.164 form).
-#}

with

source as (

    select * from {{ source('pos', 'members') }}

),

final as (

    select
        ----------  ids
        card_key,
        phone_key,

        ---------- booleans
        sms_opt_in as has_sms_opt_in,

        ---------- timestamps
        updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from source

)

select * from final
