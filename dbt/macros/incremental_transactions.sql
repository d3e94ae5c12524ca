{#-
    The nightly build of the transaction models (int_transaction_lines_unioned,
    fct_transaction_lines, fct_transactions): only the transactions of int_transactions_changed
    are computed again. The pipeline decides when a build must be whole instead
    (lib/incremental_marts.py).
-#}

{#- True for the rows of an order (`column`, of `sql_type`) whose transaction
    '<source>:<order id>' changed; used inside the incremental branch of a model that defines the
    CTE `changed`. Typed so that DuckDB filters the staging view by its own key. -#}
{% macro changed_order(source, column, sql_type=none) -%}
    {%- set prefix = source ~ ':' -%}
    {%- set order_id = 'substr(transaction_id, ' ~ (prefix | length + 1) ~ ')' -%}
    {{ column }} in (
        select {% if sql_type %}cast({{ order_id }} as {{ sql_type }}){% else %}{{ order_id }}{% endif %}
        from changed
        where transaction_id like '{{ prefix }}%'
    )
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
