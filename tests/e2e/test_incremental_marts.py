"""Nights whose marts builds are incremental end with the same warehouse, and the same files, as
the same nights with whole builds (warehouse.incremental_marts: false), run side by side over the
same landing files.

The nights carry what makes an incremental build hard: a return that arrives after its ticket,
a return whose ticket arrives later, a card whose e-mail matches an online account for the
first time (that account's past orders change person), a day delivered again with a line gone
and a ticket added, and an erasure.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from loyalty_project import ProjectOver, project_over
from warehouse_snapshot import all_tables

pytestmark = pytest.mark.starts_first(minutes=5)

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, FIRST_END, NIGHT_1, END = "2025-03-01", "2025-04-08", "2025-04-09", "2025-04-10"
REDELIVERED_DAY = "2025-03-05"
LATE_ORIGINAL = "T009-20250305-0999"


def make_project(folder: Path, landing: Path, *, incremental: bool) -> ProjectOver:
    return project_over(
        folder,
        landing,
        START,
        warehouse=f"incremental_marts: {str(incremental).lower()}",
        extra="privacy: {demo: true}\n",
    )


def run_both(projects: tuple[ProjectOver, ...], *args: str) -> None:
    """The same run on each project, side by side (each has its own warehouse)."""
    started = [project.start(*args) for project in projects]
    for project, process in zip(projects, started, strict=True):
        _, stderr = process.communicate()
        assert process.returncode == 0, f"{project.folder.name} {args}: {stderr[-3000:]}"


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def tickets_file(landing: Path, day: str) -> Path:
    return landing / "pos" / "tickets" / f"date={day}" / "tickets.csv"


def return_line(ticket_id: str, day: str, sale: dict[str, str], original: str) -> dict[str, str]:
    return {
        **sale,
        "ticket_id": ticket_id,
        "line_number": "1",
        "sold_at": f"{day} 12:00:00",
        "quantity": "-1",
        "discount_amount": "0.00",
        "line_amount": f"-{sale['unit_price']}",
        "coupon_code": "",
        "original_ticket_id": original,
    }


def unmatched_online_email(landing: Path) -> str:
    """The e-mail of a Shopify customer with orders that no card shares (yet)."""
    card_emails = {
        row["email"].strip().lower()
        for path in (landing / "pos" / "members").rglob("*.csv")
        for row in read_csv(path)
    }
    for path in sorted((landing / "ecommerce" / "orders").rglob("*.jsonl")):
        if path.parent.name > f"date={FIRST_END}":
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line).get("customer") or {}
            email = (customer.get("email") or "").strip().lower()
            if email.endswith("@gmail.com") and email not in card_emails:
                return email
    raise AssertionError("the generated orders have no unmatched online customer")


def deliver_night_1(landing: Path) -> dict[str, str]:
    """A late return, a return whose ticket is not there yet, a card matching an account."""
    early = read_csv(tickets_file(landing, "2025-03-03"))
    sale = next(row for row in early if int(row["quantity"]) > 0)
    path = tickets_file(landing, NIGHT_1)
    rows = read_csv(path)
    columns = list(rows[0])
    rows.append(
        return_line(f"T009-{NIGHT_1.replace('-', '')}-0901", NIGHT_1, sale, sale["ticket_id"])
    )
    rows.append(return_line(f"T009-{NIGHT_1.replace('-', '')}-0902", NIGHT_1, sale, LATE_ORIGINAL))
    write_csv(path, rows, columns)

    email = unmatched_online_email(landing)
    members = landing / "pos" / "members" / f"date={NIGHT_1}" / "members.csv"
    member_rows = read_csv(members)
    member = {
        **member_rows[0],
        "card_id": "290000099901",
        "enrolled_on": NIGHT_1,
        "updated_at": f"{NIGHT_1} 09:30:00",
        "email": email,
        "phone": "",
    }
    write_csv(members, [*member_rows, member], list(member_rows[0]))
    return {"late_return_of": sale["ticket_id"], "new_card": member["card_id"]}


def redeliver_old_day(landing: Path) -> str:
    """The day again: its last line gone, and the ticket a return of night 1 was made to."""
    path = tickets_file(landing, REDELIVERED_DAY)
    rows = read_csv(path)
    gone = rows.pop()
    original = {
        **rows[0],
        "ticket_id": LATE_ORIGINAL,
        "line_number": "1",
        "original_ticket_id": "",
    }
    write_csv(path, [*rows, original], list(rows[0]))
    return f"pos:{gone['ticket_id']}:{gone['line_number']}"


def deliver_erasure(landing: Path) -> str:
    """An erasure request, on the last night, for a card holder who bought early on."""
    card_id = next(
        row["card_id"] for row in read_csv(tickets_file(landing, "2025-03-02")) if row["card_id"]
    )
    write_csv(
        landing / "privacy" / "erasure_requests" / f"date={END}" / "erasure_requests.csv",
        [
            {
                "request_id": "ERQ-900001",
                "requested_at": f"{END} 10:00:00",
                "card_id": card_id,
                "shopify_customer_id": "",
                "email": "",
            }
        ],
        ["request_id", "requested_at", "card_id", "shopify_customer_id", "email"],
    )
    return card_id


@pytest.fixture(scope="module")
def landing(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("incremental") / "landing"
    made = subprocess.run(
        [LOYALTY, "generate", "--out", str(folder), "--customers", "300",
         "--start", START, "--end", END, "--seed", "5"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return folder


def test_nightly_incremental_builds_equal_whole_builds(landing: Path, tmp_path: Path):
    nightly = make_project(tmp_path / "nightly", landing, incremental=True)
    whole = make_project(tmp_path / "whole", landing, incremental=False)
    both = (nightly, whole)
    run_both(both, "--start", START, "--end", FIRST_END)
    scenario = deliver_night_1(landing)
    run_both(both, "--date", NIGHT_1)
    gone_line = redeliver_old_day(landing)
    run_both(both, "--date", REDELIVERED_DAY)
    erased_card = deliver_erasure(landing)
    run_both(both, "--date", END)

    def line_transaction(con: duckdb.DuckDBPyConnection, line_id: str) -> tuple | None:
        return con.execute(
            "select transaction_id from marts.fct_transaction_lines where line_id = ?", [line_id]
        ).fetchone()

    with duckdb.connect(str(nightly.warehouse), read_only=True) as con:
        builds = con.execute(
            "select whole_because, finished_at is not null from ops.marts_builds order by started_at"
        ).fetchall()
        changed, total = con.execute(
            "select (select count(*) from intermediate.int_transactions_changed), "
            "(select count(*) from marts.fct_transactions)"
        ).fetchone()
        night = NIGHT_1.replace("-", "")
        late_return = line_transaction(con, f"pos:T009-{night}-0901:1")
        late_original = line_transaction(con, f"pos:T009-{night}-0902:1")
        gone = line_transaction(con, gone_line)
        (rekeyed,) = con.execute(
            "select count(*) from marts.fct_transactions as t "
            "join intermediate.int_customer_identities_resolved as i "
            "on i.customer_key = t.customer_key "
            "where t.source = 'shopify' and t.order_date <= ? and i.source_system = 'card' "
            "and i.source_key in (select card_key from raw.pos_members where enrolled_on = ?)",
            [FIRST_END, NIGHT_1],
        ).fetchone()
        (erased,) = con.execute("select count(*) from intermediate.int_customers_erased").fetchone()
        nightly_tables = all_tables(con)
    with duckdb.connect(str(whole.warehouse), read_only=True) as con:
        (whole_builds,) = con.execute(
            "select list(distinct whole_because) from ops.marts_builds"
        ).fetchone()
        whole_tables = all_tables(con)

    # What the nights delivered did happen, and the nights after the first were incremental.
    assert builds == [("first build", True)] + [(None, True)] * 3
    assert whole_builds == ["warehouse.incremental_marts is off"]
    assert 0 < changed < total
    assert late_return == (f"pos:{scenario['late_return_of']}",)
    assert late_original == (f"pos:{LATE_ORIGINAL}",)
    assert gone is None
    assert rekeyed > 0, "the new card took none of the online account's past orders"
    assert erased >= 1, erased_card

    assert set(nightly_tables) == set(whole_tables)
    different = [
        name for name in sorted(whole_tables) if nightly_tables[name] != whole_tables[name]
    ]
    assert different == []
    assert nightly.exports() == whole.exports() != {}
