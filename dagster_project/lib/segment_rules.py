"""Segment rules: who a segment holds as of a day, from the analytics columns and nothing else.

A rule's `where` condition is SQL a user writes in loyalty.yml. Two guards keep health data
(prescription purchases) and every other table out of it, each enough on its own:

1. `checked_condition` parses the condition with sqlglot and accepts only column references to
   `SEGMENT_COLUMNS`, literals, operators and a short list of plain scalar functions. A subquery,
   a CTE, a join, a qualified name (`marts.x`), a parameter or any other function is refused in
   one line. What runs is sqlglot's rendering of the checked tree, without comments, so a comment
   or a quote cannot make DuckDB read something other than what was checked.
2. `select_members` evaluates the condition in a separate in-memory DuckDB database that holds
   only the day's segment base (the columns below) and cannot read files: even a condition that
   slipped past the parser has no table or file to reach.

The columns hold no prescription data: the analytics they come from leave prescription lines
out (models/analytics/customer_purchases.sql).
"""

from __future__ import annotations

from datetime import date

import duckdb
import pyarrow as pa
import sqlglot
from sqlglot import exp

# Column of the segment base → where it comes from. customer_segment_history is the day's
# segment, tier and stage; customer_rfm and customer_clv add the purchase summary and the model,
# customer_deal_sensitivity how much of it was bought on a deal, customer_recommendations what to
# cross-sell (the first recommendation; never health), dim_customers who they are (age in the
# year of the day, marital status, the postal area: the province's two digits).
SEGMENT_COLUMNS: dict[str, str] = {
    "customer_key": "history.customer_key",
    "rfm_segment": "history.rfm_segment",
    "value_tier": "history.value_tier",
    "lifecycle_stage": "history.lifecycle_stage",
    "predicted_clv": "history.predicted_clv",
    "probability_alive": "history.probability_alive",
    "expected_next_purchase_date": "clv.expected_next_purchase_date",
    "expected_purchases_90d": "clv.expected_purchases_90d",
    "churn_probability_90d": "clv.churn_probability_90d",
    "r_score": "rfm.r_score",
    "f_score": "rfm.f_score",
    "m_score": "rfm.m_score",
    "frequency": "rfm.frequency",
    "recency": "rfm.recency",
    "t": "rfm.t",
    "monetary_value": "rfm.monetary_value",
    "total_net_amount": "rfm.total_net_amount",
    "orders_count": "rfm.orders_count",
    "days_since_last_purchase": "rfm.days_since_last_purchase",
    "channels_used": "rfm.channels_used",
    "deal_order_share": "deals.deal_order_share",
    "deal_spend_share": "deals.deal_spend_share",
    "deal_profile": "deals.deal_profile",
    "recommended_category": "next_best.category",
    "recommended_subcategory": "next_best.subcategory",
    "tenure_days": "rfm.recency_days",
    "birth_year": "person.birth_year",
    "age": "extract(year from history.as_of_date) - person.birth_year",
    "marital_status": "person.marital_status",
    "postal_area": "person.postal_area",
}

# The analytics table behind each alias of SEGMENT_COLUMNS; all but the history are joined to it
# on the customer and the day.
SEGMENT_TABLES: dict[str, str] = {
    "history": "analytics.customer_segment_history",
    "rfm": "analytics.customer_rfm",
    "clv": "analytics.customer_clv",
    "deals": "analytics.customer_deal_sensitivity",
    "next_best": "analytics.customer_recommendations",
    "person": "marts.dim_customers",
}
# Tables of people rather than of days: joined on the customer alone.
SEGMENT_TABLES_OF_PEOPLE = frozenset({"person"})
# A table with several rows per customer and day gives the segment base the row whose column
# (here: the rank) holds the value named.
SEGMENT_TABLE_ROWS: dict[str, tuple[str, int]] = {"next_best": ("recommendation_rank", 1)}
_SELECT_LIST = ",\n    ".join(f"{source} as {name}" for name, source in SEGMENT_COLUMNS.items())


def _join(alias: str, table: str) -> str:
    on = f"{alias}.customer_key = history.customer_key"
    if alias not in SEGMENT_TABLES_OF_PEOPLE:
        on += f" and {alias}.as_of_date = history.as_of_date"
    if alias in SEGMENT_TABLE_ROWS:
        column, value = SEGMENT_TABLE_ROWS[alias]
        on += f" and {alias}.{column} = {value}"
    return f"left join {table} as {alias}\n    on {on}"


_JOINS = "\n".join(
    _join(alias, table) for alias, table in SEGMENT_TABLES.items() if alias != "history"
)

# The analytics of a day that segment rules (and `where` conditions) may use.
SEGMENT_BASE_SQL = f"""
select
    {_SELECT_LIST}
from {SEGMENT_TABLES["history"]} as history
{_JOINS}
where history.as_of_date = $as_of
"""

# Expression nodes a condition may be built of: values, comparisons, logic and arithmetic.
_ALLOWED_NODES: tuple[type[exp.Expression], ...] = (
    exp.Column,
    exp.Identifier,
    exp.Literal,
    exp.Boolean,
    exp.Null,
    exp.Paren,
    exp.Tuple,
    exp.And,
    exp.Or,
    exp.Not,
    exp.EQ,
    exp.NEQ,
    exp.GT,
    exp.GTE,
    exp.LT,
    exp.LTE,
    exp.NullSafeEQ,
    exp.NullSafeNEQ,
    exp.Is,
    exp.In,
    exp.Between,
    exp.Like,
    exp.ILike,
    exp.Add,
    exp.Sub,
    exp.Mul,
    exp.Div,
    exp.IntDiv,
    exp.Mod,
    exp.Neg,
    exp.Case,
    exp.If,
    exp.Cast,
    exp.TryCast,
    exp.DataType,
)

# Plain scalar functions over the row's own values (they read no table, file or setting).
_ALLOWED_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Lower: "lower",
    exp.Upper: "upper",
    exp.Length: "length",
    exp.Abs: "abs",
    exp.Round: "round",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Least: "least",
    exp.Greatest: "greatest",
    exp.Coalesce: "coalesce",
}


class RuleError(ValueError):
    """A `where` condition that is not allowed; the message says what, in one line."""


def _refusal(node: exp.Expression) -> str | None:
    """Why `node` may not appear in a condition, or None when it may."""
    if isinstance(node, exp.Column):
        if node.table or node.args.get("db") or node.args.get("catalog"):
            return f"{node.sql(dialect='duckdb')!r} names a table: use the columns alone"
        if node.name.lower() not in SEGMENT_COLUMNS:
            return f"unknown column {node.name!r} (columns: {', '.join(SEGMENT_COLUMNS)})"
        return None
    if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest")):
        return "a subquery is not allowed: compare the columns with values"
    if type(node) in _ALLOWED_FUNCTIONS or isinstance(node, _ALLOWED_NODES):
        return None
    if isinstance(node, exp.Query | exp.Subquery | exp.Exists | exp.Table | exp.From | exp.Join):
        return "a subquery, join or table is not allowed: use the columns alone"
    if isinstance(node, exp.Func):
        name = node.sql_name() if not isinstance(node, exp.Anonymous) else node.name
        return (
            f"function {name.lower()!r} is not allowed "
            f"(allowed: {', '.join(sorted(_ALLOWED_FUNCTIONS.values()))})"
        )
    return f"{node.key!r} is not allowed in a segment condition"


def checked_condition(where: str) -> str:
    """The condition as DuckDB will run it, after checking every part; RuleError if refused."""
    try:
        statements = sqlglot.parse(where, read="duckdb")
    except sqlglot.errors.ParseError as error:
        first = str(error).splitlines()[0]
        raise RuleError(f"not a SQL condition: {first}") from None
    statements = [s for s in statements if s is not None]
    if len(statements) != 1:
        raise RuleError("give one condition (no ';')")
    (tree,) = statements
    for node in tree.walk():
        problem = _refusal(node)
        if problem:
            raise RuleError(problem)
    return tree.sql(dialect="duckdb", comments=False)


def segment_base(con: duckdb.DuckDBPyConnection, as_of: date) -> pa.Table:
    """The day's analytics columns of every customer (SEGMENT_COLUMNS), as Arrow."""
    return con.sql(SEGMENT_BASE_SQL, params={"as_of": as_of}).to_arrow_table()


def select_members(base: pa.Table, condition: str, parameters: dict) -> pa.Table:
    """The rows of `base` that `condition` selects, evaluated where nothing but `base` exists:
    an in-memory database with no tables of its own and no access to files."""
    isolated = duckdb.connect(":memory:", config={"enable_external_access": False})
    try:
        isolated.register("segment_base", base)
        return isolated.sql(
            "select customer_key, value_tier from segment_base "
            f"where {condition} order by customer_key",
            params=parameters or None,
        ).to_arrow_table()
    finally:
        isolated.close()
