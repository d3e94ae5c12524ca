{#-
    Schemas are named as in docs/warehouse.md (staging, intermediate, marts, pii, analytics),
    not dbt's default `<target schema>_<custom schema>`: BI tools, exports and the Dagster side
    read these names on every target.
-#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
