{#- Shares of one whole (a group's age bands, say): non-negative; when all are shown they add up
    to 1, and when any is hidden (null) at least two are, so no hidden share can be recovered as
    one minus the others. Rows that break it fail the test. -#}
{% test shares_add_up_or_hide_two(model, columns) %}

select *
from {{ model }}
where not (
    {% for column in columns %}coalesce({{ column }}, 0) >= 0 and {% endfor %}(
        (
            {% for column in columns %}{{ column }} is not null and {% endfor %}
            abs({{ columns | join(' + ') }} - 1) < 1e-9
        )
        or (
            {% for column in columns %}coalesce({{ column }}, 0){{ ' + ' if not loop.last }}{% endfor %} <= 1 + 1e-9
            and ({% for column in columns %}case when {{ column }} is null then 1 else 0 end{{ ' + ' if not loop.last }}{% endfor %}) >= 2
        )
    )
)

{% endtest %}
