{#- Money everywhere in staging, intermediate and marts: cents, 18 digits. -#}
{% macro type_money() -%}
    {{ return(adapter.dispatch('type_money', 'loyalty')()) }}
{%- endmacro %}

{% macro default__type_money() -%}
    decimal(18, 2)
{%- endmacro %}


{#- Cast to money, rounding to the cent (half away from zero). -#}
{% macro to_money(expression) -%}
    cast(round({{ expression }}, 2) as {{ loyalty.type_money() }})
{%- endmacro %}
