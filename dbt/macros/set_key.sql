{#-
    One text for the set of values of `expression` in the group: the values sorted and joined by
    '|', so two groups with the same values get the same text whatever order their rows came in.
    An aggregate; the values are texts that must not contain '|'.
-#}
{% macro set_key(expression) -%}
    {{ return(adapter.dispatch('set_key', 'loyalty')(expression)) }}
{%- endmacro %}

{% macro default__set_key(expression) -%}
    string_agg({{ expression }}, '|' order by {{ expression }})
{%- endmacro %}

{% macro spark__set_key(expression) -%}
    concat_ws('|', sort_array(collect_list({{ expression }})))
{%- endmacro %}
