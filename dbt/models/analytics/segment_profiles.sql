{#-
    Who is in each group, for marketing: one row per as_of_date, group_type (rfm_segment,
    value_tier, lifecycle_stage) and group_name, with fixed columns (no JSON, no arrays): size,
    revenue share, average CLV, shares of age bands, marital status and channel mix, the top 3
    postal areas and the top 3 product categories by spend (health lines left out: prescriptions
    and privacy.sensitive_categories),
    and the typical basket. Aggregates only, and no value that describes fewer than
    var('profile_min_group_size') customers (docs/analytics.md says what is guaranteed):
    - a group smaller than that has no row;
    - a share of a group (an age band, a marital status, a channel mix) counting between 1 and
      min - 1 people is null; in each of those sets of shares, which add up to the whole group,
      the smallest share of at least min people is hidden too when any is, so a hidden share
      cannot be recovered as one minus the others;
    - a postal area or a category is named only when at least min people of the group live
      there or bought it (the top 3 are among those);
    - revenue, orders and basket values are null when fewer than min people of the group bought,
      the average CLV, margin CLV or expected remaining lifetime when fewer than min have one.

    Where each group is in its life cycle: the shares of its customers in each lifecycle stage
    (the phase each RFM segment and tier is in), the average tenure of its buyers so far
    (days from the first purchase to the last), and how long its customers are expected to stay
    (customer_clv.expected_remaining_days, within the CLV's lifetime horizon). How its buyers buy on deals: the shares of
    opportunistic, mixed, loyal and unclassified (customer_deal_sensitivity).

    Age is the age reached in the year of as_of_date (dim_customers keeps the birth year only).
    Revenue, channels, baskets and categories are the purchases as seen on as_of_date
    (customer_purchases); prospects have none, so those columns are null or 0 for them.
-#}

{%- set min_group_size = var('profile_min_group_size') | int -%}
{%- set age_bands = ['under_25', '25_34', '35_44', '45_54', '55_64', '65_plus', 'unknown'] -%}
{%- set marital_statuses = ['single', 'married', 'divorced', 'widowed', 'unknown'] -%}
{%- set channel_mixes = [('store_only', 'store'), ('online_only', 'online'), ('both', 'both')] -%}
{%- set stages = ['prospect', 'new', 'active', 'reactivated', 'at_risk', 'lapsed', 'lost'] -%}
{%- set deal_profiles = ['opportunistic', 'mixed', 'loyal', 'unclassified'] -%}
{#- Each set of shares that adds up to the whole group: its name, count columns, denominator. -#}
{%- set partitions = [
    ('age', 'age_', age_bands, 'customers'),
    ('marital', 'marital_', marital_statuses, 'customers'),
    ('channel', 'channel_', channel_mixes | map('first') | list, 'buyers'),
    ('stage', 'stage_', stages, 'customers'),
    ('deal', 'deal_', deal_profiles, 'buyers'),
] -%}

with

history as (

    select * from {{ ref('customer_segment_history') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

purchases as (

    select * from {{ ref('customer_purchases') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

customers as (

    select * from {{ ref('dim_customers') }}

),

clv as (

    select * from {{ source('analytics', 'customer_clv') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

deals as (

    select * from {{ ref('customer_deal_sensitivity') }}
    where as_of_date = {{ loyalty.as_of_date() }}

),

lines as (

    select * from {{ ref('fct_transaction_lines') }}
    where event_date <= {{ loyalty.as_of_date() }}

),

memberships as (

    select
        'rfm_segment' as group_type,
        rfm_segment as group_name,
        customer_key
    from history
    where rfm_segment is not null

    union all

    select
        'value_tier' as group_type,
        value_tier as group_name,
        customer_key
    from history
    where value_tier is not null

    union all

    select
        'lifecycle_stage' as group_type,
        lifecycle_stage as group_name,
        customer_key
    from history
    where lifecycle_stage is not null

),

customer_facts as (

    select
        history.customer_key,
        {{ loyalty.to_money('history.predicted_clv') }} as predicted_clv_amount,
        {{ loyalty.to_money('clv.predicted_margin_clv') }} as predicted_margin_clv_amount,
        clv.expected_remaining_days,
        -- A prospect has bought nothing; a buyer from a source without amounts has no value.
        case when rfm.customer_key is null then 0 else rfm.total_net_amount end as revenue_amount,
        rfm.channels_used,
        -- Tenure so far: from the first purchase to the last (0 for a single purchase day).
        rfm.recency_days as tenure_days,
        history.lifecycle_stage,
        -- How a buyer buys on deals (too few orders to tell: unclassified); none for prospects.
        case
            when rfm.customer_key is not null then coalesce(deals.deal_profile, 'unclassified')
        end as deal_profile,
        coalesce(customers.postal_area, 'unknown') as postal_area,
        case
            when customers.marital_status in ('single', 'married', 'divorced', 'widowed')
                then customers.marital_status
            else 'unknown'
        end as marital_status,
        extract(year from {{ loyalty.as_of_date() }}) - customers.birth_year as age
    from history
    left join rfm
        on history.customer_key = rfm.customer_key
    left join customers
        on history.customer_key = customers.customer_key
    left join deals
        on history.customer_key = deals.customer_key
    left join clv
        on history.customer_key = clv.customer_key

),

banded_customers as (

    select
        *,
        case
            when age is null or age < 0 or age > 120 then 'unknown'
            when age < 25 then 'under_25'
            when age < 35 then '25_34'
            when age < 45 then '35_44'
            when age < 55 then '45_54'
            when age < 65 then '55_64'
            else '65_plus'
        end as age_band
    from customer_facts

),

all_revenue as (

    select sum(total_net_amount) as revenue_amount
    from rfm

),

group_type_sizes as (

    select
        group_type,
        count(*) as group_type_customers
    from memberships
    group by group_type

),

group_facts as (

    select
        memberships.group_type,
        memberships.group_name,
        count(*) as customers,
        sum(banded_customers.revenue_amount) as revenue_amount,
        count(banded_customers.predicted_clv_amount) as clv_customers,
        sum(banded_customers.predicted_clv_amount) as predicted_clv_amount,
        count(banded_customers.predicted_margin_clv_amount) as margin_clv_customers,
        sum(banded_customers.predicted_margin_clv_amount) as predicted_margin_clv_amount,
        count(banded_customers.expected_remaining_days) as lifetime_customers,
        avg(banded_customers.expected_remaining_days) as average_expected_remaining_days,
        count(banded_customers.channels_used) as buyers,
        avg(banded_customers.tenure_days) as average_tenure_days,
        {%- for band in age_bands %}
        sum(case when banded_customers.age_band = '{{ band }}' then 1 else 0 end) as age_{{ band }}_customers,
        {%- endfor %}
        {%- for status in marital_statuses %}
        sum(case when banded_customers.marital_status = '{{ status }}' then 1 else 0 end) as marital_{{ status }}_customers,
        {%- endfor %}
        {%- for name, value in channel_mixes %}
        sum(case when banded_customers.channels_used = '{{ value }}' then 1 else 0 end) as channel_{{ name }}_customers,
        {%- endfor %}
        {%- for stage in stages %}
        sum(case when banded_customers.lifecycle_stage = '{{ stage }}' then 1 else 0 end) as stage_{{ stage }}_customers,
        {%- endfor %}
        {%- for profile in deal_profiles %}
        sum(case when banded_customers.deal_profile = '{{ profile }}' then 1 else 0 end) as deal_{{ profile }}_customers{{ ',' if not loop.last }}
        {%- endfor %}
    from memberships
    inner join banded_customers
        on memberships.customer_key = banded_customers.customer_key
    group by memberships.group_type, memberships.group_name

),

-- Only groups large enough to be shown are profiled any further.
shown_groups as (

    select
        group_type,
        group_name
    from group_facts
    where customers >= {{ min_group_size }}

),

-- Per set of shares: how many people its hidden shares count, and its smallest share that may
-- be shown (hidden too when the hidden ones count fewer than min: see the header).
suppression as (

    select
        group_facts.*,
        {%- for name, prefix, cells, denominator in partitions %}
        {%- set counts = [] %}
        {%- for cell in cells %}{% do counts.append(prefix ~ cell ~ '_customers') %}{% endfor %}
        {% for count in counts %}case when {{ loyalty.too_few(count, min_group_size) }} then {{ count }} else 0 end{{ ' + ' if not loop.last }}{% endfor %}
            as {{ name }}_hidden_customers,
        least({% for count in counts %}case when {{ count }} >= {{ min_group_size }} then {{ count }} end{{ ', ' if not loop.last }}{% endfor %})
            as {{ name }}_smallest_shown_customers{{ ',' if not loop.last }}
        {%- endfor %}
    from group_facts
    inner join shown_groups
        on group_facts.group_type = shown_groups.group_type
        and group_facts.group_name = shown_groups.group_name

),

shown_memberships as (

    select memberships.*
    from memberships
    inner join shown_groups
        on memberships.group_type = shown_groups.group_type
        and memberships.group_name = shown_groups.group_name

),

postal_areas as (

    select
        shown_memberships.group_type,
        shown_memberships.group_name,
        banded_customers.postal_area,
        count(*) as area_customers
    from shown_memberships
    inner join banded_customers
        on shown_memberships.customer_key = banded_customers.customer_key
    where banded_customers.postal_area <> 'unknown'
    group by shown_memberships.group_type, shown_memberships.group_name, banded_customers.postal_area
    having count(*) >= {{ min_group_size }}

),

ranked_postal_areas as (

    select
        *,
        row_number() over (
            partition by group_type, group_name
            order by area_customers desc, postal_area asc
        ) as area_rank
    from postal_areas

),

top_postal_areas as (

    select
        group_type,
        group_name,
        {%- for rank in [1, 2, 3] %}
        max(case when area_rank = {{ rank }} then postal_area end) as top_postal_area_{{ rank }},
        max(case when area_rank = {{ rank }} then area_customers end) as top_postal_area_{{ rank }}_customers{{ ',' if not loop.last }}
        {%- endfor %}
    from ranked_postal_areas
    where area_rank <= 3
    group by group_type, group_name

),

-- The non-prescription lines of each purchase, as seen on the day.
customer_categories as (

    select
        purchases.customer_key,
        coalesce(lines.category, 'Unknown') as category,
        sum(lines.line_amount) as spend_amount
    from purchases
    inner join lines
        on purchases.transaction_id = lines.transaction_id
    where not coalesce(lines.is_sensitive, false)
        and lines.line_amount is not null
    group by purchases.customer_key, coalesce(lines.category, 'Unknown')

),

group_categories as (

    select
        shown_memberships.group_type,
        shown_memberships.group_name,
        customer_categories.category,
        sum(customer_categories.spend_amount) as spend_amount,
        count(*) as category_customers
    from shown_memberships
    inner join customer_categories
        on shown_memberships.customer_key = customer_categories.customer_key
    group by shown_memberships.group_type, shown_memberships.group_name, customer_categories.category

),

ranked_categories as (

    select
        *,
        sum(spend_amount) over (partition by group_type, group_name) as group_spend_amount,
        row_number() over (
            partition by group_type, group_name
            order by case when category_customers >= {{ min_group_size }} then 0 else 1 end,
                spend_amount desc, category
        ) as category_rank
    from group_categories

),

top_categories as (

    select
        group_type,
        group_name,
        {%- for rank in [1, 2, 3] %}
        max(case when category_rank = {{ rank }} then category end) as top_category_{{ rank }},
        max(case when category_rank = {{ rank }} then {{ loyalty.ratio('spend_amount', 'group_spend_amount') }} end)
            as top_category_{{ rank }}_spend_share{{ ',' if not loop.last }}
        {%- endfor %}
    from ranked_categories
    where category_rank <= 3
        and category_customers >= {{ min_group_size }}
    group by group_type, group_name

),

baskets as (

    select
        shown_memberships.group_type,
        shown_memberships.group_name,
        {{ loyalty.median_money('purchases.purchase_amount') }} as median_order_value_amount,
        {{ loyalty.money_per('sum(purchases.purchase_amount)', 'count(purchases.purchase_amount)') }} as average_order_value_amount,
        count(*) as orders_count
    from shown_memberships
    inner join purchases
        on shown_memberships.customer_key = purchases.customer_key
    group by shown_memberships.group_type, shown_memberships.group_name

),

final as (

    select
        {{ loyalty.as_of_date() }} as as_of_date,
        suppression.group_type,
        suppression.group_name,

        ---------- size and value
        suppression.customers,
        {{ min_group_size }} as min_group_size,
        {{ loyalty.ratio('suppression.customers', 'group_type_sizes.group_type_customers') }} as customer_share,
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then {{ loyalty.to_money('suppression.revenue_amount') }} end
            as revenue_amount,
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then {{ loyalty.ratio('suppression.revenue_amount', 'all_revenue.revenue_amount') }} end
            as revenue_share,
        case when not {{ loyalty.too_few('suppression.clv_customers', min_group_size) }} then {{ loyalty.to_money('suppression.predicted_clv_amount / nullif(suppression.clv_customers, 0)') }} end
            as average_predicted_clv_amount,
        case when not {{ loyalty.too_few('suppression.margin_clv_customers', min_group_size) }} then {{ loyalty.to_money('suppression.predicted_margin_clv_amount / nullif(suppression.margin_clv_customers, 0)') }} end
            as average_predicted_margin_clv_amount,

        ---------- who they are; how they buy (channel mix over the customers with a purchase)
        {%- for name, prefix, cells, denominator in partitions %}
        {%- for cell in cells %}
        {%- set count = 'suppression.' ~ prefix ~ cell ~ '_customers' %}
        case
            when {{ loyalty.too_few(count, min_group_size) }} then null
            when suppression.{{ name }}_hidden_customers > 0
                and {{ count }} = suppression.{{ name }}_smallest_shown_customers
                {%- for earlier in cells[:loop.index0] %}
                and suppression.{{ prefix ~ earlier }}_customers <> suppression.{{ name }}_smallest_shown_customers
                {%- endfor %}
                then null
            else {{ loyalty.ratio(count, 'suppression.' ~ denominator) }}
        end as {{ prefix ~ cell }}_share,
        {%- endfor %}
        {%- if name == 'marital' %}
        {%- for rank in [1, 2, 3] %}
        top_postal_areas.top_postal_area_{{ rank }},
        {{ loyalty.ratio('top_postal_areas.top_postal_area_' ~ rank ~ '_customers', 'suppression.customers') }}
            as top_postal_area_{{ rank }}_share,
        {%- endfor %}
        {%- endif %}
        {%- endfor %}
        {%- for rank in [1, 2, 3] %}
        top_categories.top_category_{{ rank }},
        top_categories.top_category_{{ rank }}_spend_share,
        {%- endfor %}
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then coalesce(baskets.orders_count, 0) end as orders_count,
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then baskets.median_order_value_amount end
            as median_order_value_amount,
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then baskets.average_order_value_amount end
            as average_order_value_amount,
        case when not {{ loyalty.too_few('suppression.buyers', min_group_size) }} then suppression.average_tenure_days end
            as average_tenure_days,
        case when not {{ loyalty.too_few('suppression.lifetime_customers', min_group_size) }} then suppression.average_expected_remaining_days end
            as average_expected_remaining_days

    from suppression
    inner join group_type_sizes
        on suppression.group_type = group_type_sizes.group_type
    cross join all_revenue
    left join top_postal_areas
        on suppression.group_type = top_postal_areas.group_type
        and suppression.group_name = top_postal_areas.group_name
    left join top_categories
        on suppression.group_type = top_categories.group_type
        and suppression.group_name = top_categories.group_name
    left join baskets
        on suppression.group_type = baskets.group_type
        and suppression.group_name = baskets.group_name

)

select * from final
