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


{#- amount / count as money, to the cent, half away from zero (null when count is 0 or null).
    Exact on every engine: DuckDB divides a decimal as a double and Spark as a decimal, and the
    two round a half cent differently (1.005 as a double is just below it). Here the cents are
    whole numbers, and round-half-up of cents / count is floor((2 * cents + count) / (2 * count)),
    a quotient of whole doubles that both engines compute alike. -#}
{% macro money_per(amount, count) -%}
    {%- set cents = 'cast((' ~ amount ~ ') * 100 as ' ~ loyalty.type_double() ~ ')' -%}
    {%- set n = 'cast(nullif(' ~ count ~ ', 0) as ' ~ loyalty.type_double() ~ ')' -%}
    {{ loyalty.to_money('sign(' ~ cents ~ ') * floor((2 * abs(' ~ cents ~ ') + ' ~ n ~ ') / (2 * ' ~ n ~ ')) / 100') }}
{%- endmacro %}


{#- amount × numerator / denominator as money, to the cent, half away from zero, exactly alike on
    every engine (the trick of money_per: a quotient of whole doubles). numerator and
    denominator must be whole numbers (SQL expressions), the amount money. -#}
{% macro money_scaled(amount, numerator, denominator) -%}
    {%- set a = 'cast((' ~ amount ~ ') * 100 as ' ~ loyalty.type_double() ~ ') * (' ~ numerator ~ ')' -%}
    {%- set b = 'cast(nullif(' ~ denominator ~ ', 0) as ' ~ loyalty.type_double() ~ ')' -%}
    {{ loyalty.to_money('sign(' ~ a ~ ') * floor((2 * abs(' ~ a ~ ') + ' ~ b ~ ') / (2 * ' ~ b ~ ')) / 100') }}
{%- endmacro %}
