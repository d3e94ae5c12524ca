with

stores as (

    select * from {{ ref('stg_pos__stores') }}

),

ticket_lines as (

    select * from {{ ref('stg_pos__ticket_lines') }}

),

generic_lines as (

    select * from {{ ref('stg_generic__transaction_lines') }}

),

-- Stores that sold before (or without) the store master naming them.
seen_store_ids as (

    select store_id from ticket_lines

    union

    select store_id from generic_lines
    where store_id is not null

),

unknown_stores as (

    select seen_store_ids.store_id
    from seen_store_ids
    left join stores
        on seen_store_ids.store_id = stores.store_id
    where stores.store_id is null

),

final as (

    select
        store_id,
        store_name,
        city,
        province,
        postal_code,
        opened_on,
        true as is_in_store_master
    from stores

    union all

    select
        store_id,
        cast(null as {{ dbt.type_string() }}) as store_name,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as province,
        cast(null as {{ dbt.type_string() }}) as postal_code,
        cast(null as date) as opened_on,
        false as is_in_store_master
    from unknown_stores

)

select * from final
