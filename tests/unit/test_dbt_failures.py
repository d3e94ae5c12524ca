"""A failed dbt build is told in one line from dbt's run_results.json, not from its log lines."""

from __future__ import annotations

from dagster_project.defs.engines.duckdb import failed_nodes


def test_the_first_failed_nodes_and_the_first_line_of_their_messages():
    run_results = {
        "results": [
            {"unique_id": "model.loyalty.stg_pos__members", "status": "success", "message": "OK"},
            {
                "unique_id": "test.loyalty.not_null_dim_products_category.5d1",
                "status": "fail",
                "message": "Got 1 result, configured to fail if != 0\nmore",
            },
            {
                "unique_id": "model.loyalty.fct_transactions",
                "status": "error",
                "message": "Runtime Error in model fct_transactions\n  Binder Error: …",
            },
            {"unique_id": "model.loyalty.dim_customers", "status": "skipped", "message": None},
        ]
    }
    assert failed_nodes(run_results) == (
        "not_null_dim_products_category: Got 1 result, configured to fail if != 0; "
        "fct_transactions: Runtime Error in model fct_transactions"
    )
    assert failed_nodes({"results": []}) == ""
