{#- Fails on every row where `expression` (SQL over the model's columns) is not true. -#}
{% test expression_is_true(model, expression, column_name=none) %}

select
    *
from {{ model }}
where not coalesce(({{ expression }}), false)

{% endtest %}
