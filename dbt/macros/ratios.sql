{#- Double precision: dbt.type_float() is a 4-byte float on DuckDB, too coarse for shares. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'loyalty')()) }}
{%- endmacro %}

{% macro default__type_double() -%}
    double
{%- endmacro %}


{#- numerator / denominator as a double; null when the denominator is 0 or null. Both sides are
    cast before dividing: Spark divides a decimal by a decimal in decimal, to 6 places, where
    DuckDB gives a double. -#}
{% macro ratio(numerator, denominator) -%}
    cast({{ numerator }} as {{ loyalty.type_double() }})
        / nullif(cast({{ denominator }} as {{ loyalty.type_double() }}), 0)
{%- endmacro %}
