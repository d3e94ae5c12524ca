{#-
    The transactions a nightly build must compute again: the incremental transaction models
    (int_transaction_lines_unioned, fct_transaction_lines, fct_transactions) delete these
    transactions and insert them anew (strategy replace_transactions), and leave every other
    transaction as the last build wrote it.

    A transaction changes when:
    - a file delivered (or delivered again) since the last completed marts build holds a row of
      it (ops.ingest_log.loaded_at after this build's ops.marts_builds.ingest_loaded_after), or
      held one of its lines before (a day delivered again may drop rows, or a whole file);
    - its person changed: identity resolution now maps one of its lines' source identity to
      another customer_key (a Shopify account matched to a card for the first time, an erased
      card sorting last);
    - for POS, it is linked to such a ticket by a return: the original ticket of a changed
      return, the returns of a changed ticket (a late return attaches to its original ticket, a
      late original ticket takes its orphan returns).
    What no row can tell (the catalogue's values, the settings, the models' code) makes the
    pipeline rebuild these models whole instead (lib/incremental_marts.py).

    Read before the incremental models replace anything: the previous lines are read from
    int_transaction_lines_unioned as the last build left it, by name, not by ref (a ref would be
    a cycle). Empty on the first build, and on Spark, where the models are rebuilt whole.
-#}

{%- set previous = adapter.get_relation(
    database=this.database, schema=this.schema, identifier='int_transaction_lines_unioned'
) -%}
{%- set string_type = dbt.type_string() %}

-- The branch below is not rendered when dbt parses, so its inputs are named here.
-- depends_on: {{ source('pos', 'tickets') }}, {{ source('shopify', 'orders') }}
-- depends_on: {{ source('shopify', 'order_lines') }}, {{ source('shopify', 'refund_lines') }}
-- depends_on: {{ ref('stg_generic__transaction_lines') }}
-- depends_on: {{ ref('int_customer_identities_resolved') }}
-- A query inside a Jinja if: sqlfluff places its rendered lines wrongly, so indentation goes
-- unchecked.
-- noqa: disable=LT02

{% if previous is none or target.type == 'spark' -%}

select cast(null as {{ string_type }}) as transaction_id
where 1 = 0

{% else -%}

with

-- The pipeline records each marts build before it runs, with the newest delivery the last
-- completed build covered (lib/incremental_marts.py works it out; only read here).
this_build as (

    select ingest_loaded_after as loaded_after
    from ops.marts_builds
    order by started_at desc
    limit 1

),

-- A delivery is a file's rows for one day (a POS database's table is one "file" for every day).
changed_deliveries as (

    select distinct partition_date, source_file
    from ops.ingest_log
    where
        loaded_at > (select loaded_after from this_build)
        -- No completed build before this one (or none on record): every delivery.
        or (select loaded_after from this_build) is null

),

previous_lines as (

    select
        line_id,
        transaction_id,
        customer_key,
        identity_source_system,
        identity_source_key,
        partition_date,
        source_file
    from {{ previous }}

),

-- The deliveries the last build's lines came from that changed or are no longer there.
previous_deliveries_changed as (

    select previous_deliveries.partition_date, previous_deliveries.source_file
    from (select distinct partition_date, source_file from previous_lines) as previous_deliveries
    left join (select distinct partition_date, source_file from ops.ingest_log) as current_deliveries
        on previous_deliveries.source_file = current_deliveries.source_file
        and previous_deliveries.partition_date is not distinct from current_deliveries.partition_date
    left join changed_deliveries
        on previous_deliveries.source_file = changed_deliveries.source_file
        and previous_deliveries.partition_date is not distinct from changed_deliveries.partition_date
    where current_deliveries.source_file is null or changed_deliveries.source_file is not null

),

pos_rows as (

    select delivered_rows.ticket_id, delivered_rows.line_number, delivered_rows.original_ticket_id
    from {{ source('pos', 'tickets') }} as delivered_rows
    {{ loyalty.delivered_since_last_build() }}

),

---------- rows delivered since the last build

delivered as (

    select {{ dbt.concat(["'pos:'", 'ticket_id']) }} as transaction_id from pos_rows

    union all

    select {{ dbt.concat(["'pos:'", 'original_ticket_id']) }}
    from pos_rows
    where original_ticket_id is not null

    {%- for shopify_table in ['orders', 'order_lines', 'refund_lines'] %}

    union all

    select {{ dbt.concat(["'shopify:'", 'cast(delivered_rows.order_id as ' ~ string_type ~ ')']) }}
    from {{ source('shopify', shopify_table) }} as delivered_rows
    {{ loyalty.delivered_since_last_build() }}
    {%- endfor %}

    union all

    select {{ dbt.concat(["'generic:'", 'delivered_rows.order_id']) }}
    from {{ ref('stg_generic__transaction_lines') }} as delivered_rows
    {{ loyalty.delivered_since_last_build() }}

),

---------- lines the last build wrote that may have moved or gone

previously_there as (

    select previous_lines.transaction_id
    from previous_lines
    inner join previous_deliveries_changed
        on previous_lines.source_file = previous_deliveries_changed.source_file
        and previous_lines.partition_date
        is not distinct from previous_deliveries_changed.partition_date

    union all

    -- A POS line delivered again on another day may name another original ticket.
    select transaction_id
    from previous_lines
    where line_id in (
        select
            {{ dbt.concat([
                "'pos:'", 'ticket_id', "':'", 'cast(line_number as ' ~ string_type ~ ')'
            ]) }}
        from pos_rows
    )

),

---------- lines whose person changed

previous_identities as (

    select distinct identity_source_system, identity_source_key, customer_key
    from previous_lines
    where identity_source_key is not null

),

identities_changed as (

    select previous_identities.identity_source_system, previous_identities.identity_source_key
    from previous_identities
    left join {{ ref('int_customer_identities_resolved') }} as identities
        on previous_identities.identity_source_system = identities.source_system
        and previous_identities.identity_source_key = identities.source_key
    where previous_identities.customer_key is distinct from identities.customer_key

),

rekeyed as (

    select previous_lines.transaction_id
    from previous_lines
    inner join identities_changed
        on previous_lines.identity_source_system = identities_changed.identity_source_system
        and previous_lines.identity_source_key = identities_changed.identity_source_key

),

seeds as (

    select transaction_id from delivered
    union
    select transaction_id from previously_there
    union
    select transaction_id from rekeyed

),

---------- POS tickets linked to a changed ticket by a return

seed_tickets as (

    select substr(transaction_id, 5) as ticket_id
    from seeds
    where transaction_id like 'pos:%'

),

linked_tickets as (

    select original_ticket_id as ticket_id
    from {{ source('pos', 'tickets') }}
    where
        ticket_id in (select ticket_id from seed_tickets)
        and original_ticket_id is not null

    union

    select ticket_id
    from {{ source('pos', 'tickets') }}
    where original_ticket_id in (select ticket_id from seed_tickets)

),

final as (

    select transaction_id from seeds

    union

    select {{ dbt.concat(["'pos:'", 'ticket_id']) }} from linked_tickets

)

select transaction_id from final

{%- endif %}
-- noqa: enable=LT02
