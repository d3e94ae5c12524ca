{#-
    True when `expression` matches the regular expression `pattern` (a SQL string literal).
    dbt-core has no cross-database regex macro; DuckDB and Spark spell it differently.
-#}
{% macro regexp_like(expression, pattern) -%}
    {{ return(adapter.dispatch('regexp_like', 'loyalty')(expression, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expression, pattern) -%}
    regexp_matches({{ expression }}, {{ pattern }})
{%- endmacro %}

{% macro spark__regexp_like(expression, pattern) -%}
    ({{ expression }} rlike {{ pattern }})
{%- endmacro %}
