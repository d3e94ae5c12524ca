{#-
    Every identity of every erased person (their card, their Shopify accounts, their generic
    customer id), by source and keyed hash: what the erasure step (lib/erasure/warehouse.py)
    removes the person's values from, in raw and quarantine. In pii, so that it is served back
    from Spark like the other pii tables; it holds keys only.
-#}

with

erased as (

    select * from {{ ref('int_customers_erased') }}

),

identities as (

    select * from {{ ref('int_customer_identities_resolved') }}

),

final as (

    select
        ----------  ids
        identities.source_system,
        identities.source_key,
        identities.customer_key

    from identities
    inner join erased
        on identities.customer_key = erased.customer_key

)

select * from final
