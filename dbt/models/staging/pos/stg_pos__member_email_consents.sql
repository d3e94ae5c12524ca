{#-
    Every delivered version of a card member's email consent (the form's email_opt_in at
    updated_at), not only the latest: consent is read as of any day (pii.email_consent_events).
    The address is named by its keyed hash only.
-#}

with

source as (

    select * from {{ source('pos', 'members') }}

),

final as (

    select
        ----------  ids
        card_key,
        email_key,

        ---------- booleans
        email_opt_in as has_email_opt_in,

        ---------- timestamps
        updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from source

)

select * from final
