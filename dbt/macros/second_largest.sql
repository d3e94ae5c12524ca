{#-
    The second largest value of `expression` in the group (null when it has fewer than two
    values), as an aggregate: one pass, where a window ranking every row would sort them all.
    The values must be distinct within a group (a customer's purchase days are).
-#}
{% macro second_largest(expression) -%}
    {{ return(adapter.dispatch('second_largest', 'loyalty')(expression)) }}
{%- endmacro %}

{% macro default__second_largest(expression) -%}
    max({{ expression }}, 2)[2]
{%- endmacro %}

{% macro spark__second_largest(expression) -%}
    try_element_at(sort_array(collect_list({{ expression }}), false), 2)
{%- endmacro %}
