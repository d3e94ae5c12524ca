{#-
    The nightly build of the transaction models (int_transaction_lines_unioned,
    fct_transaction_lines, fct_transactions): only the transactions of int_transactions_changed
    are computed again. The pipeline decides when a build must be whole instead
    (lib/incremental_marts.py).
-#}

{#- True for the rows whose `column` is a ticket or order id (`kind`: pos, shopify, generic) that
    a changed transaction is made of; for pos also the tickets linked to one by a return (its
    original ticket, the returns made to it), which decide where its lines net.

    The ids are read when the model runs and written into the SQL as a list of constants:
    DuckDB then filters the raw rows before the staging views rank their deliveries (a window
    over every row), which it cannot do for a subquery. Past `max_listed` ids (a night that
    touched much of the history) the subquery is used instead. -#}
{% macro changed_keys(column, kind, max_listed=200000) -%}
    {%- set changed = ref('int_transactions_changed') -%}
    {%- set prefix = kind ~ ':' -%}
    {%- set key = 'substr(transaction_id, ' ~ (prefix | length + 1) ~ ')' -%}
    {%- set query -%}
        select {{ key }} as id from {{ changed }} where transaction_id like '{{ prefix }}%'
        {%- if kind == 'pos' %}
        union
        select tickets.original_ticket_id
        from {{ source('pos', 'tickets') }} as tickets
        inner join {{ changed }} as changed
            on changed.transaction_id = 'pos:' || tickets.ticket_id
        where tickets.original_ticket_id is not null
        union
        select tickets.ticket_id
        from {{ source('pos', 'tickets') }} as tickets
        inner join {{ changed }} as changed
            on changed.transaction_id = 'pos:' || tickets.original_ticket_id
        {%- endif %}
    {%- endset -%}
    {%- set ids = run_query(query).columns[0].values() if execute else [] -%}
    {%- if ids | length > max_listed -%}
        cast({{ column }} as {{ dbt.type_string() }}) in ({{ query }})
    {%- elif kind == 'shopify' -%}
        {{ column }} in ({{ (ids | map('int') | join(', ')) or 'null' }})
    {%- else -%}
        {{ column }} in ({% for id in ids %}'{{ id | replace("'", "''") }}'{{ ', ' if not loop.last }}{% endfor %}{{ 'null' if not ids }})
    {%- endif %}
{%- endmacro %}


{#- Keeps the rows (alias delivered_rows) of the deliveries since the last completed build, in
    int_transactions_changed (which defines the CTE `changed_deliveries`). -#}
{% macro delivered_since_last_build() -%}
    inner join changed_deliveries
        on delivered_rows.source_file = changed_deliveries.source_file
        and delivered_rows.partition_date is not distinct from changed_deliveries.partition_date
{%- endmacro %}


{#- The rows of the changed transactions, in a model that reads another transaction model. -#}
{% macro only_changed_transactions() -%}
    {%- if is_incremental() -%}
    where transaction_id in (select transaction_id from {{ ref('int_transactions_changed') }})
    {%- endif -%}
{%- endmacro %}


{#- Incremental strategy `replace_transactions`: every row of a changed transaction goes (also
    those of a transaction that no longer exists: a cancelled order, a day delivered again
    without it), then the transactions computed again come in. dbt's delete+insert would only
    delete the keys it inserts. -#}
{% macro get_incremental_replace_transactions_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where transaction_id in (select transaction_id from {{ ref('int_transactions_changed') }});

    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}
