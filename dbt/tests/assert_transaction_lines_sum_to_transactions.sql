{#- Each transaction's amounts are the sums of its lines: nothing lost between the two marts. -#}

with

transactions as (

    select * from {{ ref('fct_transactions') }}

),

transaction_lines as (

    select * from {{ ref('fct_transaction_lines') }}

),

line_totals as (

    select
        transaction_id,
        count(*) as line_count,
        sum(line_amount) as net_amount,
        sum(case when is_prescription then line_amount else 0 end) as prescription_net_amount
    from transaction_lines
    group by transaction_id

),

mismatches as (

    select
        transactions.transaction_id,
        transactions.line_count,
        line_totals.line_count as lines_found,
        transactions.net_amount,
        line_totals.net_amount as lines_net_amount
    from transactions
    left join line_totals
        on transactions.transaction_id = line_totals.transaction_id
    where line_totals.transaction_id is null
        or transactions.line_count <> line_totals.line_count
        or coalesce(transactions.net_amount, 0) <> coalesce(line_totals.net_amount, 0)
        or coalesce(transactions.prescription_net_amount, 0)
            <> coalesce(line_totals.prescription_net_amount, 0)

)

select * from mismatches
