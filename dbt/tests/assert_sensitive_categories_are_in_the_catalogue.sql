{{ config(severity='warn') }}

{#-
    Every category named in privacy.sensitive_categories is a category of the catalogue (compared
    as is_sensitive_category compares): a name that matches none protects nothing, most likely a
    typo, and the run says so (a warning naming it) instead of passing in silence.
-#}

{%- set names = var('sensitive_categories') -%}

with

products as (

    select * from {{ ref('dim_products') }}

),

configured as (

    {%- for name in names %}
    select '{{ dbt.escape_single_quotes(name) }}' as sensitive_category
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- if names | length == 0 %}
    select cast(null as {{ dbt.type_string() }}) as sensitive_category
    {%- endif %}

),

unmatched as (

    select configured.sensitive_category
    from configured
    where configured.sensitive_category is not null
        and not exists (
            select 1
            from products
            where lower(trim(products.category))
                = lower(trim(configured.sensitive_category))
        )

)

select * from unmatched
