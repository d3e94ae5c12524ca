"""Contacts and consents over time: how each person's email and phone are written in each
system, member and online-account records that change, opt-outs and erasure requests.

The same person is written differently by different systems (a card form typed at the counter,
a Shopify checkout), which is what identity resolution has to see through: upper-case letters,
stray blanks, `+34` or `0034` prefixes, spaces in phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dagster_project.lib.synthetic import text
from dagster_project.lib.synthetic.accounts import Accounts
from dagster_project.lib.synthetic.params import WorldParams
from dagster_project.lib.synthetic.people import BOTH, MARITAL_STATUSES, Persons
from dagster_project.lib.synthetic.purchases import Histories, Purchases
from dagster_project.lib.synthetic.timeline import (
    ONLINE_HOURS,
    SECONDS_PER_DAY,
    STORE_HOURS,
    Timeline,
)

UNSUBSCRIBE_TOOLS = ("mailchimp", "klaviyo", "brevo", "hubspot")
UNSUBSCRIBE_TOOL_WEIGHTS = np.array([0.35, 0.25, 0.25, 0.15])
UNSUBSCRIBE_REASONS = (
    "",
    "Demasiados correos",
    "Ya no me interesa",
    "No me suscribí",
    "Contenido no relevante",
)

# Shopify email_marketing_consent.state values
NOT_SUBSCRIBED, SUBSCRIBED, UNSUBSCRIBED = 0, 1, 2
CONSENT_STATES = ("not_subscribed", "subscribed", "unsubscribed")

# Member change kinds
OPT_IN_FLIP, NEW_EMAIL, NEW_PHONE = 0, 1, 2


@dataclass(frozen=True)
class Contacts:
    """How each person's contacts are written: on the card form and in their Shopify account."""

    member_email: pa.Array  # as typed on the form; may be invalid or null
    member_phone: pa.Array  # as typed on the form; null when not given
    shopify_email: pa.Array  # null without an account
    shopify_phone: pa.Array  # E.164 or null
    links_by_email: np.ndarray  # persons with both: the two records share the email address
    verified_email: np.ndarray  # the Shopify account's address was confirmed


def phone_forms(rng: np.random.Generator, digits: pa.Array) -> pa.Array:
    """The ways Spaniards write a mobile number on a form."""

    def part(start: int, stop: int) -> pa.Array:
        return pc.utf8_slice_codeunits(digits, start, stop)

    forms = [
        digits,
        text.concat(part(0, 3), " ", part(3, 6), " ", part(6, 9)),
        text.concat("+34", digits),
        text.concat("+34 ", part(0, 3), " ", part(3, 5), " ", part(5, 7), " ", part(7, 9)),
        text.concat("0034", digits),
        text.concat(part(0, 3), "-", part(3, 6), "-", part(6, 9)),
    ]
    choice = rng.choice(len(forms), len(digits), p=[0.5, 0.2, 0.1, 0.08, 0.07, 0.05])
    return pc.choose(pa.array(choice, pa.int8()), *forms)


def email_forms(rng: np.random.Generator, email: pa.Array) -> pa.Array:
    """An address as typed: mostly as is, sometimes capitalised, shouted or with blanks."""
    forms = [email, pc.utf8_capitalize(email), pc.utf8_upper(email), text.concat(" ", email, " ")]
    choice = rng.choice(len(forms), len(email), p=[0.8, 0.1, 0.05, 0.05])
    return pc.choose(pa.array(choice, pa.int8()), *forms)


def invalid_forms(rng: np.random.Generator, email: pa.Array) -> pa.Array:
    """Typos that make an address invalid: no @, two @, no top-level domain, a comma, a blank."""
    forms = [
        pc.replace_substring(email, "@", "", max_replacements=1),
        pc.replace_substring(email, "@", "@@", max_replacements=1),
        pc.replace_substring_regex(email, r"\.[a-z]+$", ""),
        pc.replace_substring_regex(email, r"\.([a-z]+)$", r",\1"),
        pc.replace_substring_regex(email, r"^(.)", r"\1 "),
    ]
    choice = rng.integers(0, len(forms), len(email))
    return pc.choose(pa.array(choice, pa.int8()), *forms)


def make_contacts(rng: np.random.Generator, persons: Persons, world: WorldParams) -> Contacts:
    n = len(persons)
    email = persons.names.email
    digits = text.integers(persons.phone)
    both = persons.kind == BOTH
    links_by_email = both & (rng.random(n) < world.both_email_link_share)
    links_by_phone = both & ~links_by_email

    member_email = email_forms(rng, email)
    invalid = (rng.random(n) < world.invalid_email_share) & ~links_by_email
    member_email = pc.if_else(pa.array(invalid), invalid_forms(rng, email), member_email)
    no_email = (rng.random(n) < world.member_no_email_share) & ~links_by_email
    member_email = text.with_nulls(member_email, no_email | ~persons.is_member)
    no_phone = (rng.random(n) < world.member_no_phone_share) & ~links_by_phone
    member_phone = text.with_nulls(phone_forms(rng, digits), no_phone | ~persons.is_member)

    # Linked by phone: the account uses another address of the same person.
    shopify_email = pc.if_else(pa.array(links_by_phone), persons.names.alt_email, email)
    shopify_email = text.with_nulls(shopify_email, ~persons.has_account)
    has_phone = persons.has_account & ((rng.random(n) < world.shopify_phone_share) | links_by_phone)
    shopify_phone = text.with_nulls(text.concat("+34", digits), ~has_phone)
    verified = rng.random(n) < 0.96
    return Contacts(
        member_email, member_phone, shopify_email, shopify_phone, links_by_email, verified
    )


def _later_time(
    rng: np.random.Generator, after: np.ndarray, timeline: Timeline, hours: tuple[int, int]
) -> np.ndarray:
    """A random local time within `hours` between `after` (at least a minute later, when the period
    allows) and the end of the period."""
    end = timeline.n_days * SECONDS_PER_DAY - 1
    day = (after + rng.random(len(after)) * (end - after)).astype(np.int64) // SECONDS_PER_DAY
    at = timeline.clock(day, rng.random(len(after)), hours)
    return np.minimum(np.maximum(at, after + 60), end)


@dataclass(frozen=True)
class MemberRows:
    """pos/members: one row per version of a member's record (enrolment, then changes)."""

    person: np.ndarray
    updated_at: np.ndarray
    email: pa.Array
    phone: pa.Array
    email_opt_in: np.ndarray
    sms_opt_in: np.ndarray


def member_rows(
    rng: np.random.Generator,
    persons: Persons,
    accounts: Accounts,
    contacts: Contacts,
    timeline: Timeline,
    world: WorldParams,
) -> MemberRows:
    members = np.flatnonzero(persons.is_member)
    n = len(members)
    opt_in = rng.random(n) < world.email_opt_in_share
    sms = rng.random(n) < world.sms_opt_in_share
    email = contacts.member_email.take(pa.array(members))
    phone = contacts.member_phone.take(pa.array(members))

    changes = rng.random(n) < world.member_change_share
    changed = members[changes]
    kind = rng.choice(3, size=len(changed), p=[0.6, 0.25, 0.15])
    at = _later_time(rng, accounts.enrolled_at[changed], timeline, STORE_HOURS)
    c_email = email.take(pa.array(np.flatnonzero(changes)))
    c_phone = phone.take(pa.array(np.flatnonzero(changes)))
    new_email = email_forms(rng, persons.names.alt_email.take(pa.array(changed)))
    new_phone = phone_forms(rng, text.integers(persons.phone[changed]))
    c_email = pc.if_else(pa.array(kind == NEW_EMAIL), new_email, c_email)
    c_phone = pc.if_else(pa.array(kind == NEW_PHONE), new_phone, c_phone)
    c_opt_in = np.where(kind == OPT_IN_FLIP, ~opt_in[changes], opt_in[changes])

    person = np.concatenate([members, changed])
    updated_at = np.concatenate([accounts.enrolled_at[members], at])
    order = np.lexsort((person, updated_at))
    return MemberRows(
        person=person[order],
        updated_at=updated_at[order],
        email=pa.concat_arrays([email, c_email]).take(pa.array(order)),
        phone=pa.concat_arrays([phone, c_phone]).take(pa.array(order)),
        email_opt_in=np.concatenate([opt_in, c_opt_in])[order],
        sms_opt_in=np.concatenate([sms, sms[changes]])[order],
    )


def render_members(
    rows: MemberRows,
    lo: int,
    hi: int,
    clock: text.Clock,
    persons: Persons,
    accounts: Accounts,
    store_ids: pa.Array,
) -> dict[str, pa.Array]:
    s = slice(lo, hi)
    person = rows.person[s]
    taken = pa.array(person)
    return {
        "card_id": accounts.card_id.take(taken),
        "enrolled_on": clock.date(accounts.enrolled_at[person] // SECONDS_PER_DAY),
        "updated_at": clock.local(rows.updated_at[s]),
        "first_name": persons.names.first_name.take(taken),
        "last_name": persons.names.last_name.take(taken),
        "birth_date": text.strings(np.datetime_as_string(persons.birth_date[person], unit="D")),
        "email": rows.email.slice(lo, hi - lo),
        "phone": rows.phone.slice(lo, hi - lo),
        "postal_code": text.zero_padded(persons.postal_code[person], 5),
        "marital_status": text.lookup(
            text.strings(MARITAL_STATUSES), persons.marital_status[person]
        ),
        "home_store_id": text.lookup(store_ids, persons.home_store[person]),
        "email_opt_in": text.booleans(rows.email_opt_in[s]),
        "sms_opt_in": text.booleans(rows.sms_opt_in[s]),
    }


@dataclass(frozen=True)
class CustomerRows:
    """ecommerce/customers: one row per version of a Shopify customer (creation, then changes)."""

    person: np.ndarray
    updated_at: np.ndarray
    consent: np.ndarray  # NOT_SUBSCRIBED, SUBSCRIBED, UNSUBSCRIBED
    consent_updated_at: np.ndarray  # -1 when never set


def customer_rows(
    rng: np.random.Generator,
    persons: Persons,
    accounts: Accounts,
    timeline: Timeline,
    world: WorldParams,
) -> CustomerRows:
    holders = np.flatnonzero(persons.has_account)
    n = len(holders)
    created = accounts.account_created_at[holders]
    subscribed = rng.random(n) < world.shopify_subscribed_share
    consent = np.where(subscribed, SUBSCRIBED, NOT_SUBSCRIBED)
    consent_at = np.where(subscribed, created, -1)

    changes = rng.random(n) < world.shopify_change_share
    at = _later_time(rng, created[changes], timeline, ONLINE_HOURS)
    new_consent = np.where(subscribed[changes], UNSUBSCRIBED, SUBSCRIBED)

    person = np.concatenate([holders, holders[changes]])
    updated_at = np.concatenate([created, at])
    order = np.lexsort((accounts.customer_id[person], updated_at))
    return CustomerRows(
        person=person[order],
        updated_at=updated_at[order],
        consent=np.concatenate([consent, new_consent])[order],
        consent_updated_at=np.concatenate([consent_at, at])[order],
    )


@dataclass(frozen=True)
class Unsubscribes:
    """marketing/unsubscribes rows, in time order."""

    at: np.ndarray
    email: pa.Array
    tool: np.ndarray
    reason: np.ndarray


@dataclass(frozen=True)
class MailingList:
    """Who is on the email tools' list: when each person first consented (int64 max if never),
    and the address the list holds for them."""

    consented_at: np.ndarray
    address: pa.Array


def mailing_list(
    persons: Persons, contacts: Contacts, members: MemberRows, customers: CustomerRows
) -> MailingList:
    n = len(persons)
    # When each person first consented, on the card form or in their Shopify account.
    consented_at = np.full(n, np.iinfo(np.int64).max)
    valid_form = pc.fill_null(
        pc.match_substring_regex(
            contacts.member_email, r"^\s*[^@\s,]+@[^@\s,]+\.[a-z]+\s*$", ignore_case=True
        ),
        False,
    ).to_numpy(zero_copy_only=False)
    m = members.email_opt_in & valid_form[members.person]
    np.minimum.at(consented_at, members.person[m], members.updated_at[m])
    c = customers.consent == SUBSCRIBED
    np.minimum.at(consented_at, customers.person[c], customers.updated_at[c])
    # A member who consented on the form is on the list with the address typed there.
    via_member = np.zeros(n, dtype=bool)
    via_member[members.person[m]] = True
    listed = pc.if_else(
        pa.array(via_member),
        pc.utf8_trim_whitespace(pc.utf8_lower(pc.fill_null(contacts.member_email, ""))),
        contacts.shopify_email,
    )
    return MailingList(consented_at, listed)


def unsubscribes(
    rng: np.random.Generator, listed: MailingList, timeline: Timeline, world: WorldParams
) -> Unsubscribes:
    """Opt-outs reported by the email tools for a few people who had consented."""
    consented_at = listed.consented_at
    has_consented = consented_at < np.iinfo(np.int64).max
    who = np.flatnonzero(has_consented & (rng.random(len(consented_at)) < world.unsubscribe_share))
    at = _later_time(rng, consented_at[who], timeline, ONLINE_HOURS)
    order = np.lexsort((who, at))
    return Unsubscribes(
        at=at[order],
        email=listed.address.take(pa.array(who[order])),
        tool=rng.choice(len(UNSUBSCRIBE_TOOLS), len(who), p=UNSUBSCRIBE_TOOL_WEIGHTS)[order],
        reason=rng.integers(0, len(UNSUBSCRIBE_REASONS), len(who))[order],
    )


# The monthly newsletter's events, in each tool's own words (marketing/campaign_activity):
# Mailchimp's actions and Klaviyo's metric names. Index 0.. per tool: sent/received, open,
# click, bounce.
ACTIVITY_TOOLS = ("mailchimp", "klaviyo")
ACTIVITY_WORDS = (
    ("sent", "open", "click", "bounce"),
    ("Received Email", "Opened Email", "Clicked Email", "Bounced Email"),
)
SENT, OPEN, CLICK, BOUNCE = range(4)
NEWSLETTER = "newsletter"


@dataclass(frozen=True)
class CampaignActivity:
    """marketing/campaign_activity rows, in time order."""

    at: np.ndarray
    email: pa.Array
    tool: np.ndarray
    event: np.ndarray


def campaign_activity(
    rng: np.random.Generator, listed: MailingList, timeline: Timeline, world: WorldParams
) -> CampaignActivity:
    """A monthly newsletter to a sample of the people on the list on the first of each month:
    sent (or received) at 10:00, bounced for a few, opened and clicked by some the same day."""
    firsts = [
        day for day in range(timeline.n_days) if (timeline.start + timedelta(days=day)).day == 1
    ]
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
    for day in firsts:
        sent_at = day * SECONDS_PER_DAY + 10 * 3600
        on_list = listed.consented_at < sent_at
        who = np.flatnonzero(on_list & (rng.random(len(on_list)) < world.newsletter_share))
        tool = rng.integers(0, len(ACTIVITY_TOOLS), len(who))
        bounced = rng.random(len(who)) < 0.03
        opened = ~bounced & (rng.random(len(who)) < 0.35)
        clicked = opened & (rng.random(len(who)) < 0.25)
        for event, flag, later in (
            (SENT, np.ones(len(who), dtype=bool), 0),
            (BOUNCE, bounced, 60),
            (OPEN, opened, 3 * 3600),
            (CLICK, clicked, 3 * 3600 + 120),
        ):
            parts.append(
                (
                    np.full(int(flag.sum()), sent_at + later, dtype=np.int64),
                    who[flag],
                    tool[flag],
                    np.full(int(flag.sum()), event),
                )
            )
    if not parts:
        empty = np.array([], dtype=np.int64)
        return CampaignActivity(empty, pa.array([], pa.string()), empty, empty)
    at, who, tool, event = (np.concatenate(column) for column in zip(*parts, strict=True))
    order = np.lexsort((event, who, at))
    return CampaignActivity(
        at=at[order],
        email=listed.address.take(pa.array(who[order])),
        tool=tool[order],
        event=event[order],
    )


def render_campaign_activity(
    rows: CampaignActivity, lo: int, hi: int, clock: text.Clock
) -> dict[str, pa.Array]:
    s = slice(lo, hi)
    words = [text.strings(tool_words) for tool_words in ACTIVITY_WORDS]
    by_tool = [text.lookup(words[t], rows.event[s]) for t in range(len(ACTIVITY_TOOLS))]
    tool = rows.tool[s]
    return {
        "email": rows.email.slice(lo, hi - lo),
        "campaign": pa.repeat(pa.scalar(NEWSLETTER, pa.string()), hi - lo),
        "event": pc.if_else(pa.array(tool == 0), by_tool[0], by_tool[1]),
        "occurred_at": clock.local(rows.at[s]),
        "source_tool": text.lookup(text.strings(ACTIVITY_TOOLS), tool),
    }


def render_unsubscribes(
    rows: Unsubscribes, lo: int, hi: int, clock: text.Clock
) -> dict[str, pa.Array]:
    s = slice(lo, hi)
    reasons = text.strings(UNSUBSCRIBE_REASONS)
    return {
        "email": rows.email.slice(lo, hi - lo),
        "unsubscribed_at": clock.local(rows.at[s]),
        "source_tool": text.lookup(text.strings(UNSUBSCRIBE_TOOLS), rows.tool[s]),
        "reason": text.with_nulls(text.lookup(reasons, rows.reason[s]), rows.reason[s] == 0),
    }


@dataclass(frozen=True)
class Erasures:
    """privacy/erasure_requests rows, in time order."""

    at: np.ndarray
    person: np.ndarray
    with_card: np.ndarray
    with_customer: np.ndarray
    with_email: np.ndarray


def erasures(
    rng: np.random.Generator,
    persons: Persons,
    accounts: Accounts,
    purchases: Purchases,
    histories: Histories,
    timeline: Timeline,
    world: WorldParams,
) -> Erasures:
    """A handful of right-to-erasure requests, from people who have stopped buying."""
    n = len(persons)
    wanted = max(1, round(n * world.erasure_share))
    last_purchase = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_purchase, purchases.person, purchases.at)
    last_seen = np.maximum.reduce(
        [last_purchase, accounts.enrolled_at, accounts.account_created_at]
    )
    end = timeline.n_days * SECONDS_PER_DAY - 2 * SECONDS_PER_DAY
    gone = (histories.dropped_out | persons.is_prospect) & (last_seen < end)
    candidates = np.flatnonzero(gone)
    who = np.sort(rng.choice(candidates, size=min(wanted, len(candidates)), replace=False))
    at = _later_time(rng, last_seen[who], timeline, ONLINE_HOURS)
    member = persons.is_member[who]
    account = persons.has_account[who]
    with_customer = account & (~member | (rng.random(len(who)) < 0.5))
    with_email = rng.random(len(who)) < 0.5
    order = np.lexsort((who, at))
    return Erasures(at[order], who[order], member[order], with_customer[order], with_email[order])


def render_erasures(
    rows: Erasures, lo: int, hi: int, clock: text.Clock, accounts: Accounts, contacts: Contacts
) -> dict[str, pa.Array]:
    s = slice(lo, hi)
    person = rows.person[s]
    taken = pa.array(person)
    customer = accounts.customer_id[person]
    # The address the person gives: the account's, else the one on the card form.
    email = pc.coalesce(
        contacts.shopify_email.take(taken),
        pc.utf8_trim_whitespace(contacts.member_email.take(taken)),
    )
    return {
        "request_id": text.concat("ERQ-", text.zero_padded(np.arange(lo, hi) + 1, 6)),
        "requested_at": clock.local(rows.at[s]),
        "card_id": text.with_nulls(accounts.card_id.take(taken), ~rows.with_card[s]),
        "shopify_customer_id": text.with_nulls(text.integers(customer), ~rows.with_customer[s]),
        "email": text.with_nulls(email, ~rows.with_email[s]),
    }
