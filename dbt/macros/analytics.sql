{#- The day analytics are computed as of: var as_of_date when given (dbt run by hand, unit tests),
    else LOYALTY_AS_OF_DATE, which the Dagster analytics assets set per partition. The assets use
    an environment variable, not a var: dbt re-parses the whole project (~25 s) when the vars
    change, and only the models that use an environment variable when its value does. -#}
{% macro as_of_date() -%}
    {%- set value = var('as_of_date', none) or env_var('LOYALTY_AS_OF_DATE', '') -%}
    {%- if not value and execute -%}
        {{ exceptions.raise_compiler_error("analytics need LOYALTY_AS_OF_DATE or var as_of_date (YYYY-MM-DD); the Dagster analytics assets set it") }}
    {%- endif -%}
    cast('{{ value or "1970-01-01" }}' as date)
{%- endmacro %}


{#- Days expressed in the CLV time unit: D = days, W = days / 7 (as lifetimes with freq_multiplier 7).
    A double on every engine: Spark divides by a decimal literal in decimal, to 6 places. -#}
{% macro in_time_unit(days) -%}
    {%- if var('clv_time_unit') == 'W' -%}
        cast({{ days }} as {{ loyalty.type_double() }}) / 7
    {%- else -%}
        cast({{ days }} as {{ dbt.type_float() }})
    {%- endif -%}
{%- endmacro %}


{#- The validated RFM scheme (var rfm_scheme) as a relation: r_score, fm_score, rfm_segment.
    A quote in a segment name ("Can't Lose Them") is escaped as each adapter wants: a backslash on
    Spark, a doubled quote elsewhere. -#}
{% macro rfm_scheme_relation() -%}
    {%- set cells = var('rfm_scheme') -%}
    {%- if cells | length != 25 and execute -%}
        {{ exceptions.raise_compiler_error("var rfm_scheme must hold the 25 cells of the validated RFM scheme") }}
    {%- endif -%}
    {%- for cell in cells %}
    select
        {{ cell['r_score'] | int }} as r_score,
        {{ cell['fm_score'] | int }} as fm_score,
        '{{ dbt.escape_single_quotes(cell['segment']) }}' as rfm_segment
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
    {%- if cells | length == 0 %}
    select 0 as r_score, 0 as fm_score, 'none' as rfm_segment
    {%- endif %}
{%- endmacro %}


{#- Quintile score 1–5 of a value among all rows: equal values share a score. -#}
{% macro quintile_score(order_by) -%}
    (1 + least(4, cast(floor(5 * percent_rank() over (order by {{ order_by }})) as integer)))
{%- endmacro %}


{#- The median of a column, exact, halfway between the middle values of an even count: DuckDB's
    median; Spark's median is exact too (percentile_approx would not be). -#}
{% macro median(column) -%}
    {{ return(adapter.dispatch('median', 'loyalty')(column)) }}
{%- endmacro %}

{% macro default__median(column) -%}
    median({{ column }})
{%- endmacro %}

{% macro spark__median(column) -%}
    percentile({{ column }}, 0.5)
{%- endmacro %}


{#- The median of a money column, to the cent (half away from zero, as to_money). Taken in cents
    as doubles: whole numbers, so the midpoint of an even count is exact on every engine (DuckDB's
    decimal median truncates the half cent; Spark's percentile is a double in euros). -#}
{% macro median_money(column) -%}
    {{ loyalty.to_money('round(' ~ loyalty.median('cast((' ~ column ~ ') * 100 as ' ~ loyalty.type_double() ~ ')') ~ ') / 100') }}
{%- endmacro %}


{#- Whether a count describes some people but fewer than `minimum`: a value computed from them
    would point at them (segment profiles hide it). -#}
{% macro too_few(count, minimum) -%}
    ({{ count }} between 1 and {{ minimum - 1 }})
{%- endmacro %}


{#- True for a category listed in privacy.sensitive_categories: as revealing of health as a
    prescription (false for every category when none is listed). Compared without case and
    surrounding spaces, so that "salud sexual " in loyalty.yml protects "Salud sexual". -#}
{% macro is_sensitive_category(column) -%}
    {%- set names = var('sensitive_categories') -%}
    {%- if names | length == 0 -%}
    false
    {%- else -%}
    lower(trim({{ column }})) in (
        {%- for name in names -%}
        '{{ dbt.escape_single_quotes(name | trim | lower) }}'{{ ', ' if not loop.last }}
        {%- endfor -%}
    )
    {%- endif -%}
{%- endmacro %}


{#- True for a category that is health data by name: a sensitive category, or the unknown
    category of products outside the catalogue (which could be anything, a prescription too).
    Categories holding a prescription product are found in dim_products, not here. -#}
{% macro is_named_health_category(column) -%}
    ({{ column }} = 'Unknown' or {{ loyalty.is_sensitive_category(column) }})
{%- endmacro %}


{#- The value a configured mapping (category → number) gives `column`'s category, or null: a
    case expression over the mapping's keys, compared as given. -#}
{% macro category_setting(column, mapping) -%}
    {%- if mapping | length == 0 -%}
    cast(null as {{ loyalty.type_double() }})
    {%- else -%}
    case {{ column }}
        {%- for name, value in mapping.items() %}
        when '{{ dbt.escape_single_quotes(name) }}' then cast({{ value }} as {{ loyalty.type_double() }})
        {%- endfor %}
    end
    {%- endif -%}
{%- endmacro %}
