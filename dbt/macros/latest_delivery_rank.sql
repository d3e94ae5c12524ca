{#-
    Rank of each delivered version of a record, 1 = the one that wins: the latest by
    `newest_first` (e.g. 'updated_at desc') when the record carries its own version time, then
    the latest delivery (partition_date, file, line), so a file delivered again never doubles a
    record and ties always break the same way.
-#}
{% macro latest_delivery_rank(partition_by, newest_first=none) -%}
    row_number() over (
        partition by {{ partition_by }}
        order by {% if newest_first %}{{ newest_first }}, {% endif %}partition_date desc, source_file desc, source_line desc
    )
{%- endmacro %}
