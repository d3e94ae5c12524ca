"""Volume and freshness anomalies against a hand-made delivery history on a real DuckDB file."""

from datetime import date, timedelta

import pytest

from dagster_project.lib.volume import source_volume_findings, store_volume_findings
from dagster_project.lib.warehouse import connect, ensure_warehouse_tables

FIRST = date(2025, 1, 6)  # a Monday
DAYS = [FIRST + timedelta(days=n) for n in range(70)]
MISSING, LOW, HIGH = date(2025, 3, 10), date(2025, 3, 11), date(2025, 3, 12)
STORE_GAP = date(2025, 3, 13)


def tickets_of_day(day: date) -> int:
    if day.weekday() == 6:  # closed on Sundays: never an anomaly
        return 0
    return {MISSING: 0, LOW: 12, HIGH: 900}.get(day, 100)


@pytest.fixture
def con(tmp_path):
    connection = connect(tmp_path / "warehouse.duckdb")
    ensure_warehouse_tables(connection)
    log = [
        ("pos_tickets", day, f"pos/tickets/date={day}/t.csv", n, n, 0)
        for day in DAYS
        if (n := tickets_of_day(day)) > 0
    ]
    connection.executemany(
        "insert into ops.ingest_log (source, partition_date, source_file, rows_read, "
        "rows_loaded, rows_quarantined) values (?, ?, ?, ?, ?, ?)",
        log,
    )
    # Store S1 sells 30 tickets every day but STORE_GAP; S2 sells one ticket now and then.
    tickets = [
        (day, "S1", f"S1-{day}-{n}") for day in DAYS if day != STORE_GAP for n in range(30)
    ] + [(day, "S2", f"S2-{day}") for day in DAYS[::5]]
    connection.executemany(
        "insert into raw.pos_tickets (partition_date, store_id, ticket_id) values (?, ?, ?)",
        tickets,
    )
    yield connection
    connection.close()


def test_a_missing_a_low_and_a_high_day_are_found_and_closed_sundays_are_not(con):
    findings = source_volume_findings(con, "pos_tickets", DAYS[0], DAYS[-1])
    assert [f.day for f in findings] == [MISSING, LOW, HIGH]
    assert findings[0].message == (
        f"pos_tickets on {MISSING}: nothing, after 8 of the last 8 Mondays (usually 100)"
    )
    assert findings[1].message == (
        f"pos_tickets on {LOW}: 12 rows, under a fifth of the usual 100 of the last 8 Tuesdays"
    )
    assert "over four times the usual 100" in findings[2].message


def test_too_short_a_history_judges_nothing(con):
    # The first four weeks have fewer than four earlier same weekdays.
    assert source_volume_findings(con, "pos_tickets", DAYS[0], DAYS[0] + timedelta(days=27)) == []


def test_a_store_that_always_sells_and_sent_nothing_is_found(con):
    findings = store_volume_findings(con, DAYS[0], DAYS[-1])
    assert [(f.day, f.message.split(" on ")[0]) for f in findings] == [(STORE_GAP, "store S1")]
    assert "nothing, after 8 of the last 8 Thursdays (usually 30)" in findings[0].message


def test_a_source_with_no_deliveries_has_no_findings(con):
    assert source_volume_findings(con, "shopify_orders", DAYS[0], DAYS[-1]) == []
