{#-
    Every delivered version of a Shopify customer's email marketing consent, not only the
    latest: consent is read as of any day (pii.email_consent_events). The address is named by
    its keyed hash only.
-#}

with

source as (

    select * from {{ source('shopify', 'customers') }}

),

final as (

    select
        ----------  ids
        customer_key as shopify_customer_key,
        email_key,

        ---------- text
        lower(email_marketing_consent_state) as email_marketing_consent_state,

        ---------- timestamps
        updated_at,
        email_marketing_consent_updated_at,

        ---------- lineage
        partition_date,
        source_file,
        source_line

    from source

)

select * from final
