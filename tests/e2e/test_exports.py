"""Segment files as a marketer receives them, checked against the landing files.

Who may be contacted is recomputed here from the landing files with pandas (the latest consent
decision about each address by the export day, on the card form or in Shopify; unsubscribes;
erasure requests), never read from the pipeline's own tables.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import phonenumbers
import pytest
from erasure_scan import found_in_files, found_in_warehouse, person_values
from loyalty_project import pos_net_revenue, shopify_net_revenue

# The module runs for many minutes: it starts first (tests/conftest.py).
pytestmark = pytest.mark.starts_first(minutes=8)

LOYALTY = str(Path(sys.executable).parent / "loyalty")
START, END = "2025-01-01", "2025-04-30"
TOOLS = ("mailchimp", "klaviyo", "brevo", "hubspot", "generic")
EMAIL_COLUMN = {
    "mailchimp": "Email Address",
    "klaviyo": "Email",
    "brevo": "EMAIL",
    "hubspot": "Email",
    "generic": "email",
}
NAME_COLUMN = {
    "mailchimp": "First Name",
    "klaviyo": "First Name",
    "brevo": "FIRSTNAME",
    "hubspot": "First Name",
    "generic": "first_name",
}
FORMULA = '=HYPERLINK("http://example.com/x","click")'
CONFIG = f"""start_date: {START}
landing_dir: landing
warehouse: {{path: warehouse.duckdb}}
exports_dir: exports
exports:
  tools: [{", ".join(TOOLS)}]
  control_share: 0.2
  segments:
    buyers: {{where: "frequency >= 0"}}
    champions: {{rfm_segment: [Champions, Loyal]}}
    win_back: {{lifecycle_stage: [at_risk, lapsed, lost]}}
    texts: {{where: "frequency >= 0", channel: sms}}
"""
SMS_TOOLS = {"klaviyo": "Phone Number", "brevo": "SMS", "generic": "phone"}


def loyalty(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [LOYALTY, *args], capture_output=True, text=True, env=os.environ.copy(), check=False
    )


def read_csv(path: Path, delimiter: str = ",") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8")), delimiter=delimiter))


def normalise(email: str | float | None) -> str | None:
    return email.strip().lower() if isinstance(email, str) and email.strip() else None


@dataclass(frozen=True)
class Project:
    folder: Path

    @property
    def landing(self) -> Path:
        return self.folder / "landing"

    @property
    def config(self) -> Path:
        return self.folder / "loyalty.yml"

    def export_folder(self, tool: str, segment: str, day: str = "latest") -> Path:
        return self.folder / "exports" / tool / segment / day


def pick_contactable_buyer(landing: Path) -> str:
    """A card member with email consent in their latest record who bought with the card."""
    members = pd.concat(
        pd.read_csv(p, dtype=str, keep_default_na=False)
        for p in sorted(landing.glob("pos/members/date=*/*.csv"))
    )
    latest = members.sort_values("updated_at").groupby("card_id").tail(1)
    buyers = set(
        pd.concat(
            pd.read_csv(p, dtype=str, keep_default_na=False, usecols=["card_id"])
            for p in sorted(landing.glob("pos/tickets/date=*/*.csv"))
        )["card_id"]
    )
    chosen = latest[
        (latest["email_opt_in"] == "true")
        & latest["card_id"].isin(buyers)
        & latest["email"].str.contains("@")
    ]
    return str(chosen.sort_values("card_id")["card_id"].iloc[0])


def rename_member(landing: Path, card_id: str, first_name: str) -> None:
    """Give every delivered record of the card `first_name` (a hostile spreadsheet value)."""
    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        if card_id in set(frame["card_id"]):
            frame.loc[frame["card_id"] == card_id, "first_name"] = first_name
            frame.to_csv(path, index=False)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    folder = tmp_path_factory.mktemp("exports")
    made = loyalty(
        "generate", "--out", str(folder / "landing"), "--customers", "400",
        "--start", START, "--end", END, "--seed", "11",
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    rename_member(folder / "landing", pick_contactable_buyer(folder / "landing"), FORMULA)
    (folder / "loyalty.yml").write_text(CONFIG, encoding="utf-8")
    run = loyalty("run", "--config", str(folder / "loyalty.yml"))
    assert run.returncode == 0, run.stderr[-3000:]
    return Project(folder)


def may_be_contacted(landing: Path, day: str) -> set[str]:
    """Normalised addresses with consent by the end of `day` and no later opt-out or erasure."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    consents: dict[str, tuple[pd.Timestamp, bool]] = {}

    def consider(email, at, given):
        email = normalise(email)
        if email and at < end and (email not in consents or at >= consents[email][0]):
            consents[email] = (at, given)

    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        for row in read_csv(path):
            consider(row["email"], pd.Timestamp(row["updated_at"]), row["email_opt_in"] == "true")
    for path in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line)
            consent = customer.get("email_marketing_consent") or {}
            at = consent.get("consent_updated_at") or customer["updated_at"]
            at = pd.Timestamp(at).tz_convert("Europe/Madrid").tz_localize(None)
            # not_subscribed and pending are no decision; the other states are.
            if consent.get("state") in ("subscribed", "unsubscribed", "invalid", "redacted"):
                consider(customer.get("email"), at, consent.get("state") == "subscribed")
    allowed = {email for email, (_, given) in consents.items() if given}
    for path in sorted(landing.glob("marketing/unsubscribes/date=*/*.csv")):
        for row in read_csv(path):
            email, at = normalise(row["email"]), pd.Timestamp(row["unsubscribed_at"])
            if email in consents and at < end and at >= consents[email][0]:
                allowed.discard(email)
    erased_cards, erased_emails = set(), set()
    for path in sorted(landing.glob("privacy/erasure_requests/date=*/*.csv")):
        for row in read_csv(path):
            erased_cards.add(row["card_id"])
            erased_emails.add(normalise(row["email"]))
    erased_shopify = set()
    for path in sorted(landing.glob("privacy/erasure_requests/date=*/*.csv")):
        erased_shopify |= {row["shopify_customer_id"] for row in read_csv(path)}
    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        for row in read_csv(path):
            if row["card_id"] in erased_cards:
                erased_emails.add(normalise(row["email"]))
    for path in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line)
            if str(customer["id"]) in erased_shopify:
                erased_emails.add(normalise(customer.get("email")))
    return allowed - erased_emails


def e164(number: str) -> str | None:
    """The number in E.164 as phonenumbers reads it in Spain (the configured default region)."""
    try:
        parsed = phonenumbers.parse(number, "ES")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def may_be_texted(landing: Path, day: str) -> set[str]:
    """E.164 numbers whose latest card form decision by the end of `day` gave SMS consent,
    without the numbers of anyone who asked to be erased."""
    end = pd.Timestamp(day) + pd.Timedelta(days=1)
    decisions: dict[str, tuple[pd.Timestamp, bool]] = {}
    erasures = [
        row
        for p in sorted(landing.glob("privacy/erasure_requests/date=*/*.csv"))
        for row in read_csv(p)
    ]
    erased_cards = {row["card_id"] for row in erasures}
    erased_numbers = set()
    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        for row in read_csv(path):
            number, at = e164(row["phone"]), pd.Timestamp(row["updated_at"])
            if row["card_id"] in erased_cards and number:
                erased_numbers.add(number)
            if number and at < end and (number not in decisions or at >= decisions[number][0]):
                decisions[number] = (at, row["sms_opt_in"] == "true")
    erased_shopify = {row["shopify_customer_id"] for row in erasures}
    for path in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line)
            if str(customer["id"]) in erased_shopify and customer.get("phone"):
                erased_numbers.add(e164(customer["phone"]))
    return {number for number, (_, given) in decisions.items() if given} - erased_numbers


def test_an_sms_segment_sends_numbers_with_sms_consent_through_the_tools_that_text(
    project: Project,
):
    allowed = may_be_texted(project.landing, END)
    texted = set()
    for tool, column in SMS_TOOLS.items():
        folder = project.export_folder(tool, "texts")
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        assert manifest["channel"] == "sms"
        delimiter = ";" if tool == "brevo" else ","
        path = folder / f"{tool}_texts_{END}.csv"
        assert "@" not in path.read_text(encoding="utf-8")  # numbers only, never an address
        numbers = {r[column] for r in read_csv(path, delimiter)}
        assert numbers <= allowed, (tool, sorted(numbers - allowed)[:3])
        assert all(n.startswith("+") and n[1:].isdigit() for n in numbers), tool
        texted |= numbers
    assert len(texted) > 20
    # The tools that do not send SMS get no SMS segment.
    for tool in set(TOOLS) - set(SMS_TOOLS):
        assert not (project.folder / "exports" / tool / "texts").exists()


def test_every_tool_and_segment_has_files_whose_manifest_matches(project: Project):
    for tool in TOOLS:
        for segment in ("buyers", "champions", "win_back"):
            folder = project.export_folder(tool, segment)
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            assert manifest["as_of_date"] == END
            assert manifest["tool"] == tool and manifest["segment"] == segment
            names = {f["name"] for f in manifest["files"]} | {"manifest.json"}
            assert names == {p.name for p in folder.iterdir()}
            for entry in manifest["files"]:
                data = (folder / entry["name"]).read_bytes()
                assert hashlib.sha256(data).hexdigest() == entry["sha256"]
                if entry["name"].endswith(".csv"):
                    assert data.count(b"\n") - 1 == entry["rows"]
                assert (folder / entry["name"]).stat().st_mode & 0o077 == 0  # owner only
            upserts = [f for f in manifest["files"] if f["kind"] == "upsert"]
            assert upserts[0]["rows"] == manifest["treated"]
    buyers = json.loads((project.export_folder("generic", "buyers") / "manifest.json").read_text())
    assert buyers["treated"] > 100


def test_only_people_who_may_be_contacted_are_exported(project: Project):
    allowed = may_be_contacted(project.landing, END)
    exported = set()
    for tool in TOOLS:
        for segment in ("buyers", "champions", "win_back"):
            folder = project.export_folder(tool, segment)
            delimiter = ";" if tool == "brevo" else ","
            for path in folder.glob(f"{tool}_*.csv"):
                if path.name.endswith(("_optout.csv", "_leavers.csv")):
                    continue
                emails = {normalise(r[EMAIL_COLUMN[tool]]) for r in read_csv(path, delimiter)}
                assert emails <= allowed, (tool, segment, sorted(emails - allowed)[:3])
                exported |= emails
    assert len(exported) > 100


def test_spreadsheet_formulas_are_neutralised(project: Project):
    for tool in TOOLS:
        delimiter = ";" if tool == "brevo" else ","
        path = next(project.export_folder(tool, "buyers").glob(f"{tool}_buyers_{END}.csv"))
        rows = read_csv(path, delimiter)
        assert "'" + FORMULA in {r[NAME_COLUMN[tool]] for r in rows}, tool
        for row in rows:
            for value in row.values():
                assert not value.startswith(("=", "+", "@", "\t", "\r")), (tool, value)


def test_control_groups_hold_the_configured_share_and_are_never_sent(project: Project):
    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        groups = con.execute(
            "select campaign, count(*), avg(is_control::int) from analytics.campaign_members "
            "where as_of_date = ? group by campaign",
            [END],
        ).fetchall()
        control = {
            k
            for (k,) in con.execute(
                "select c.email_normalized from analytics.campaign_members m "
                "join pii.customer_contacts c using (customer_key) "
                "where m.as_of_date = ? and m.is_control and m.campaign = 'buyers'",
                [END],
            ).fetchall()
        }
    for campaign, members, share in groups:
        if members >= 50:
            assert abs(share - 0.2) <= 0.01, campaign
    rows = read_csv(project.export_folder("generic", "buyers") / f"generic_buyers_{END}.csv")
    assert control and not control & {normalise(r["email"]) for r in rows}


def test_running_the_day_again_writes_byte_identical_files(project: Project):
    def snapshot() -> dict[str, bytes]:
        root = project.folder / "exports"
        return {
            str(p.relative_to(root)): p.read_bytes()
            for p in root.rglob("*")
            if p.is_file() and f"/{END}/" in f"/{p.relative_to(root)}"
        }

    before = snapshot()
    again = loyalty("run", "--config", str(project.config), "--date", END)
    assert again.returncode == 0, again.stderr[-3000:]
    assert snapshot() == before


def personal_values(landing: Path) -> set[str]:
    """Every email, E.164 phone and full name the generator delivered (lower case)."""
    values = set()
    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        for row in read_csv(path):
            values |= {normalise(row["email"]), f"{row['first_name']} {row['last_name']}".lower()}
    for path in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line)
            values |= {normalise(customer.get("email")), customer.get("phone") or ""}
            values.add(f"{customer.get('first_name')} {customer.get('last_name')}".lower())
    return {v.lower() for v in values if v and len(v) > 6}


def test_no_personal_data_outside_pii_logs_or_dagster_metadata(project: Project):
    wanted = personal_values(project.landing)
    assert len(wanted) > 500

    def leaks(texts) -> list[str]:
        return [v for text in texts for v in wanted if v in text.lower()]

    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('marts', 'analytics', 'ops') and data_type = 'VARCHAR'"
        ).fetchall()
        assert len(columns) > 30
        for schema, table, column in columns:
            values = con.execute(f'select distinct "{column}" from {schema}."{table}"').fetchall()
            found = leaks(str(v).lower() for (v,) in values if v is not None)
            assert not found, (schema, table, column, found[:2])
    # Logs and reports the run wrote: dbt's log, the Data Docs pages, the CLV plots' folder.
    home = Path(os.environ["DAGSTER_HOME"])
    texts = [p.read_text(encoding="utf-8", errors="replace") for p in home.rglob("*.log")]
    texts += [p.read_text(encoding="utf-8") for p in (project.folder / "reports").rglob("*.html")]
    assert texts
    assert not leaks(texts)
    # Every event of every Dagster run: log messages and asset / check metadata.
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        events = [
            str(record.dagster_event.event_specific_data) + " " + record.user_message
            if record.dagster_event
            else record.user_message
            for run in instance.get_runs()
            for record in instance.all_logs(run.run_id)
        ]
    assert len(events) > 100
    assert not leaks(events)


# --- erasure and opt-outs after the first exports (these tests change the landing folder) -----

NEXT, AFTER = "2025-05-01", "2025-05-02"


def person_ids(landing: Path, email: str) -> dict[str, str]:
    """The card and Shopify ids under which `email` was delivered."""
    ids = {}
    for path in sorted(landing.glob("pos/members/date=*/*.csv")):
        for row in read_csv(path):
            if normalise(row["email"]) == email:
                ids["card_id"] = row["card_id"]
    for path in sorted(landing.glob("ecommerce/customers/date=*/*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            customer = json.loads(line)
            if normalise(customer.get("email")) == email:
                ids["shopify_customer_id"] = str(customer["id"])
    return ids


def exported_emails(project: Project, day: str, kind: str) -> list[tuple[str, str, str, str]]:
    """(tool, segment, email, reason or '') of every row of the day's files of `kind`: upsert,
    optout or leavers."""
    found = []
    for tool in TOOLS:
        delimiter = ";" if tool == "brevo" else ","
        for segment in ("buyers", "champions", "win_back"):
            folder = project.export_folder(tool, segment, day)
            for path in sorted(folder.glob("*.csv")):
                is_kind = (
                    path.name.endswith(f"_{kind}.csv")
                    if kind != "upsert"
                    else not path.name.endswith(("_optout.csv", "_leavers.csv"))
                )
                if not is_kind:
                    continue
                for row in read_csv(path, delimiter):
                    email = normalise(row[EMAIL_COLUMN[tool]])
                    found.append((tool, segment, email, row.get("reason", "")))
    return found


@dataclass(frozen=True)
class Erasure:
    """Who was erased and unsubscribed on NEXT, and what was seen before AFTER's run."""

    erased: str  # by card and Shopify id
    erased_by_address: str  # by the address alone
    unsubscribed: str
    # NEXT's opt-out and leavers rows as written that day (AFTER's run rewrites them)
    optouts_next: list[tuple[str, str, str, str]]
    leavers_next: list[tuple[str, str, str, str]]
    # Net revenue per customer_key of the transactions before NEXT, read before NEXT's run
    revenue_before: dict[str, float]


def revenue_by_customer(project: Project) -> dict[str, float]:
    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select customer_key, sum(net_amount) from marts.fct_transactions "
            "where customer_key is not null and cast(ordered_at as date) < ? group by 1",
            [NEXT],
        ).fetchall()
    return {key: float(amount) for key, amount in rows}


@pytest.fixture(scope="module")
def erasure(project: Project) -> Erasure:
    """Three treated buyers of END: one asks for erasure by card and Shopify id, one by address
    alone, the third unsubscribes, on NEXT."""
    rows = read_csv(project.export_folder("generic", "buyers", END) / f"generic_buyers_{END}.csv")
    emails = sorted(normalise(r["email"]) for r in rows)
    erased, unsubscribed, by_address = emails[0], emails[1], emails[2]
    ids = person_ids(project.landing, erased)
    revenue_before = revenue_by_customer(project)
    folder = project.landing / "privacy" / "erasure_requests" / f"date={NEXT}"
    folder.mkdir(parents=True)
    (folder / "erasure.csv").write_text(
        "request_id,requested_at,card_id,shopify_customer_id,email\n"
        f"ERQ-T1,{NEXT} 10:00:00,{ids.get('card_id', '')},{ids.get('shopify_customer_id', '')},\n"
        f"ERQ-T2,{NEXT} 10:05:00,,,{by_address.upper()}\n",
        encoding="utf-8",
    )
    folder = project.landing / "marketing" / "unsubscribes" / f"date={NEXT}"
    folder.mkdir(parents=True)
    (folder / "unsubscribes.csv").write_text(
        f"email,unsubscribed_at,source_tool,reason\n{unsubscribed},{NEXT} 11:00:00,klaviyo,\n",
        encoding="utf-8",
    )
    seen: dict[str, list] = {}
    for day in (NEXT, AFTER):
        # AFTER delivers nothing: the day is computed from what is loaded.
        run = loyalty("run", "--config", str(project.config), "--date", day, "--allow-empty")
        assert run.returncode == 0, run.stderr[-3000:]
        if day == NEXT:
            seen = {kind: exported_emails(project, NEXT, kind) for kind in ("optout", "leavers")}
    return Erasure(
        erased, by_address, unsubscribed, seen["optout"], seen["leavers"], revenue_before
    )


def test_erased_and_unsubscribed_people_are_suppressed_once_and_never_sent(
    project: Project, erasure: Erasure
):
    erased, unsubscribed = erasure.erased, erasure.unsubscribed
    gone = {erased, erasure.erased_by_address, unsubscribed}
    suppressed = erasure.optouts_next
    for tool in TOOLS:  # in the buyers' global opt-out file of every tool, once
        for person in gone:
            assert [e for t, s, e, _ in suppressed if (t, s) == (tool, "buyers")].count(
                person
            ) == 1, (tool, person)
    reasons = {(e, r) for t, s, e, r in suppressed if t == "generic" and e in gone}
    assert reasons == {
        (erased, "erased"),
        (erasure.erased_by_address, "erased"),
        (unsubscribed, "unsubscribed"),
    }
    for day in (NEXT, AFTER):
        assert not {e for *_, e, _ in exported_emails(project, day, "upsert")} & gone
    # Once: the day after, nobody suppresses them again.
    assert erased not in {e for *_, e, _ in exported_emails(project, AFTER, "optout")}
    # An opt-out is never a mere leaver of the segment.
    assert not {e for *_, e, _ in erasure.leavers_next} & gone


def test_an_erased_person_is_nowhere_the_pipeline_writes(project: Project, erasure: Erasure):
    """Every table of every schema, every segment file of every day (NEXT's opt-out files
    included, rewritten by AFTER's run), the BI copy and the reports: no name, address, phone,
    card or account number of either erased person. And the numbers of the past stay."""
    people = {
        erasure.erased: person_values(project.landing, {erasure.erased}, set(), set()),
        erasure.erased_by_address: person_values(
            project.landing, {erasure.erased_by_address}, set(), set()
        ),
    }
    for email, person in people.items():
        assert email in person.texts and person.ids, email  # the scan knows what to look for
        found = found_in_warehouse(project.folder / "warehouse.duckdb", person)
        for folder in ("exports", "publish", "reports"):
            assert (project.folder / folder).is_dir(), folder
            found += found_in_files(project.folder / folder, person)
        assert not found, found[:5]
    # The rewritten files still match their manifests and the export log.
    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        logged = dict(
            con.execute(
                "select tool || '/' || segment || '/' || file_name, sha256 from ops.export_log "
                "where as_of_date = ?",
                [NEXT],
            ).fetchall()
        )
        # Both erased people's files are rewritten up to NEXT: the latest export day when
        # AFTER's build ran (AFTER's own files come after it, and never name them).
        purged = con.execute(
            "select distinct purged_through from ops.erasure_exports as e "
            "inner join pii.customer_contacts as c using (customer_key) where c.is_erased"
        ).fetchall()
    assert purged == [(date.fromisoformat(NEXT),)]
    for tool in TOOLS:
        for segment in ("buyers", "champions", "win_back"):
            folder = project.export_folder(tool, segment, NEXT)
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            for entry in manifest["files"]:
                digest = hashlib.sha256((folder / entry["name"]).read_bytes()).hexdigest()
                assert digest == entry["sha256"] == logged[f"{tool}/{segment}/{entry['name']}"]
    # Revenue still reconciles to the landing files, and each customer's revenue before the
    # erasure is what it was: the erased are counted anonymously under the same keys.
    with duckdb.connect(str(project.folder / "warehouse.duckdb"), read_only=True) as con:
        (net,) = con.execute("select sum(net_amount) from marts.fct_transactions").fetchone()
    assert Decimal(net) == pos_net_revenue(project.landing) + shopify_net_revenue(project.landing)
    assert revenue_by_customer(project) == erasure.revenue_before


def test_a_backfill_of_an_earlier_day_does_not_bring_an_erased_person_back(
    project: Project, erasure: Erasure
):
    again = loyalty("run", "--config", str(project.config), "--date", END)
    assert again.returncode == 0, again.stderr[-3000:]
    assert erasure.erased not in {e for *_, e, _ in exported_emails(project, END, "upsert")}
    person = person_values(project.landing, {erasure.erased}, set(), set())
    assert not found_in_warehouse(project.folder / "warehouse.duckdb", person)
    # The newest export stays the latest.
    assert project.export_folder("mailchimp", "buyers").resolve().name == AFTER


def test_a_segment_rule_reaching_prescriptions_is_refused_before_anything_runs(project: Project):
    """The bypasses a reviewer would try, as a user would write them in loyalty.yml: each run is
    refused in one line naming the key, and no segment file is written."""
    attempts = {
        "subquery": "customer_key in (select customer_key from marts.fct_transaction_lines "
        "where is_prescription)",
        "file": "length(read_text('landing/pos/tickets/x.csv')) > 0",
        "comment": "frequency > 0 /* */ or customer_key in (select customer_key from raw.pos_tickets)",
        "quoted": '"marts"."fct_transaction_lines"."is_prescription"',
    }
    before = sorted(p.name for p in (project.folder / "exports").rglob("*"))
    for name, condition in attempts.items():
        config = project.folder / f"bypass_{name}.yml"
        rule = condition.replace("'", "''")
        config.write_text(
            project.config.read_text(encoding="utf-8") + f"    rx_{name}: {{where: '{rule}'}}\n",
            encoding="utf-8",
        )
        run = loyalty("run", "--config", str(config), "--date", AFTER)
        assert run.returncode == 2, (name, run.stderr[-2000:])
        (line,) = run.stderr.strip().splitlines()
        assert line.startswith(f"loyalty: {config}: exports.segments.rx_{name}.where: "), line
    assert sorted(p.name for p in (project.folder / "exports").rglob("*")) == before
