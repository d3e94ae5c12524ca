"""One day's exports: each configured segment, held-out control group, files per tool.

For the day D: the segment's members are the customers whose analytics of D match its rule; of
them only the contactable on D (pii.customer_contactability) count; a control share is held out
(sticky and stratified by tier: `control.py`) and recorded in analytics.campaign_members with the
treated; the treated go to every configured tool's upsert file. Who must not get the segment's
mail any more is found against the segment's previous export: its treated who are not treated
now, and everyone who could be contacted on that day and no longer can. They are split by why
(`profile.py`): those who withdrew consent, unsubscribed or were erased go to the tool's global
opt-out file; those who only left the segment (or whose address became invalid) to the leavers
file, which takes them out of this segment and nothing else. Every file is written by
`files.publish_export`; ops.export_log records each.

A segment's `channel` says how it is reached: by email (the address, its consent) or by SMS
(the number in E.164, its SMS consent: `is_sms_contactable`), the latter only through the tools
that send SMS (`SMS_PROFILES`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa

from dagster_project.lib.exports import SMS_PROFILES, profile_for
from dagster_project.lib.exports.control import assign_control
from dagster_project.lib.exports.files import (
    ExportFile,
    neutralise_frame,
    part_names,
    publish_export,
    split_csv,
)
from dagster_project.lib.exports.profile import AUDIENCE_COLUMNS, OPTOUT_REASONS, ExportProfile
from dagster_project.lib.frames import is_in
from dagster_project.lib.segment_rules import (
    SEGMENT_BASE_SQL,
    RuleError,
    checked_condition,
    segment_base,
    select_members,
)
from dagster_project.lib.tables import CAMPAIGN_MEMBERS, EXPORT_LOG
from dagster_project.lib.warehouse import replace_rows


@dataclass(frozen=True)
class ChannelColumns:
    """Where pii.customer_contactability says whether and why a person can be reached by a
    channel, and the column the people's address or number goes by in the files' frames."""

    contactable: str
    reason: str
    address: str
    people_column: str


CHANNELS = {
    "email": ChannelColumns(
        "is_contactable", "not_contactable_reason", "email_normalized", "email"
    ),
    "sms": ChannelColumns(
        "is_sms_contactable", "not_sms_contactable_reason", "phone_e164", "phone"
    ),
}


class SegmentError(Exception):
    """A segment rule that cannot be applied; the message names the segment, in one line."""


@dataclass
class ExportSummary:
    """What a day's exports wrote (counts only, for metadata: never a person's data)."""

    as_of: date
    segments: dict[str, dict[str, int]] = field(default_factory=dict)
    files: int = 0


def _rule_condition(rule: Any) -> tuple[str, dict[str, Any]]:
    """The rule as a SQL condition over the segment base, and its parameters."""
    conditions, parameters = [], {}
    for column in ("rfm_segment", "value_tier", "lifecycle_stage"):
        values = getattr(rule, column)
        if values is not None:
            conditions.append(f"{column} in (select unnest(${column}))")
            parameters[column] = list(values)
    if rule.clv_min is not None:
        conditions.append("predicted_clv >= $clv_min")
        parameters["clv_min"] = rule.clv_min
    if rule.clv_max is not None:
        conditions.append("predicted_clv < $clv_max")
        parameters["clv_max"] = rule.clv_max
    if rule.where:
        conditions.append(f"({checked_condition(rule.where)})")
    return " and ".join(conditions), parameters


def segment_members(
    con: duckdb.DuckDBPyConnection,
    name: str,
    rule: Any,
    as_of: date,
    *,
    key: str | None = None,
    base: pa.Table | None = None,
) -> pd.DataFrame:
    """Every customer the rule selects on `as_of`, contactable or not (`customer_key`, tier).
    An error names `key` (default: the export segment `name`'s). `base` is the day's
    `segment_base`, when the caller selects several segments from it.

    The rule is evaluated on the day's segment base alone (lib/segment_rules.py): a condition
    has no table of the warehouse and no file within its reach.
    """
    key = key or f"exports.segments.{name}"
    try:
        condition, parameters = _rule_condition(rule)
    except RuleError as error:
        raise SegmentError(f"{key}.where: {error}") from None
    try:
        if base is None:
            base = segment_base(con, as_of)
        return select_members(base, condition, parameters).to_pandas()
    except duckdb.Error as error:
        problem = str(error).strip().splitlines()[0]
        raise SegmentError(f"{key}: the rule does not apply: {problem}") from None


def _audience(con: duckdb.DuckDBPyConnection, keys: list[str], as_of: date) -> pd.DataFrame:
    """The treated customers' audience rows: analytics of the day and their contact data."""
    frame = con.execute(
        f"""select base.*, contacts.email, contacts.phone_e164 as phone, contacts.first_name,
            contacts.last_name
        from ({SEGMENT_BASE_SQL}) as base
        inner join pii.customer_contacts as contacts using (customer_key)
        where base.customer_key in (select unnest($keys))
        order by base.customer_key""",
        {"as_of": as_of, "keys": keys},
    ).df()
    return frame


def contactability(
    con: duckdb.DuckDBPyConnection, as_of: date, channel: str = "email"
) -> pd.DataFrame:
    """The day's people in customer_key order, for `channel`: `customer_key`, `is_contactable`,
    `not_contactable_reason` and `address` (the address, or the number for SMS). What is built
    from them (the suppression file) comes out the same whatever order the rows were written in."""
    columns = CHANNELS[channel]
    return con.execute(
        f"select customer_key, {columns.contactable} as is_contactable, "
        f"{columns.reason} as not_contactable_reason, {columns.address} as address "
        "from pii.customer_contactability where as_of_date = $as_of order by customer_key",
        {"as_of": as_of},
    ).df()


def _previous_export_day(con: duckdb.DuckDBPyConnection, campaign: str, as_of: date):
    (day,) = con.execute(
        "select max(as_of_date) from analytics.campaign_members "
        "where campaign = $campaign and as_of_date < $as_of",
        {"campaign": campaign, "as_of": as_of},
    ).fetchone()
    return day


def suppressed_people(
    con: duckdb.DuckDBPyConnection,
    campaign: str,
    previous_day: date | None,
    treated: set[str],
    today: pd.DataFrame,
    channel: str = "email",
    people_before: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Who must no longer get the segment's mail or messages (see the module's docstring), and
    why. Columns: customer_key, email (phone for SMS), reason (OPTOUT_REASONS or
    LEAVER_REASONS). `today` is `contactability` of the day for the same channel,
    `people_before` that of `previous_day` when the caller has read it already."""
    address = CHANNELS[channel].people_column
    if previous_day is None:
        return pd.DataFrame(columns=["customer_key", address, "reason"])
    before = (
        people_before if people_before is not None else contactability(con, previous_day, channel)
    )
    sent_before = con.execute(
        "select customer_key from analytics.campaign_members "
        "where campaign = $campaign and as_of_date = $day and not is_control",
        {"campaign": campaign, "day": previous_day},
    ).df()["customer_key"]
    keys = before["customer_key"]
    left = is_in(keys, sent_before) & ~is_in(keys, treated)
    contactable_now = today.loc[today["is_contactable"].astype(bool), "customer_key"]
    withdrew = before["is_contactable"].astype(bool).to_numpy() & ~is_in(keys, contactable_now)
    chosen = before[(left | withdrew) & before["address"].notna().to_numpy()]
    # Why they may not be mailed now: today's reason, "erased" when gone from today's people,
    # "left_segment" when they still could be contacted (they only left the segment).
    reasons = today.set_index("customer_key")["not_contactable_reason"]
    reason = chosen["customer_key"].map(reasons).astype(object)
    reason = reason.where(reason.map(lambda r: isinstance(r, str)), "left_segment")
    reason = reason.where(is_in(chosen["customer_key"], today["customer_key"]), "erased")
    return pd.DataFrame(
        {
            "customer_key": chosen["customer_key"].to_numpy(),
            address: chosen["address"].to_numpy(),
            "reason": reason.to_numpy(),
        }
    )


def _tool_files(
    profile: ExportProfile,
    stem: str,
    segment: str,
    audience: pd.DataFrame,
    stopped: pd.DataFrame,
    delimiter: str,
    with_recommendation: bool,
) -> list[ExportFile]:
    upsert = profile.upsert(audience, segment)
    if not with_recommendation:
        upsert = upsert.drop(columns=list(profile.recommendation_columns))
    upsert = neutralise_frame(upsert, profile.phone_columns)
    parts = split_csv(
        upsert, delimiter=delimiter, max_rows=profile.max_rows, max_bytes=profile.max_bytes
    )
    counts = [part.count(b"\n") - 1 for part in parts] if len(upsert) else [0]
    files = [
        ExportFile(name, "upsert", data, rows)
        for name, data, rows in zip(
            part_names(stem, ".csv", len(parts)), parts, counts, strict=True
        )
    ]
    if profile.parquet:
        buffer = upsert.to_parquet(index=False)
        files.append(ExportFile(f"{stem}.parquet", "upsert", buffer, len(upsert)))
    optouts = stopped[is_in(stopped["reason"], OPTOUT_REASONS)]
    leavers = stopped[~is_in(stopped["reason"], OPTOUT_REASONS)]
    for kind, frame in (
        ("optout", profile.optout(optouts)),
        ("leavers", profile.leavers(leavers, segment)),
    ):
        frame = neutralise_frame(frame, profile.phone_columns)
        (data,) = split_csv(frame, delimiter=delimiter)
        files.append(ExportFile(f"{stem}_{kind}.csv", kind, data, len(frame)))
    return files


def export_day(
    con: duckdb.DuckDBPyConnection,
    exports: Any,
    exports_dir: Path,
    as_of: date,
    key: str,
) -> ExportSummary:
    """Write every configured tool's files for every segment as of `as_of` (see the docstring)."""
    summary = ExportSummary(as_of)
    # Who may be reached, read once per day and channel: the day's, and that of the day each
    # segment was last exported on (the same day for most).
    people: dict[tuple[date, str], pd.DataFrame] = {}

    def people_on(day: date, channel: str) -> pd.DataFrame:
        if (day, channel) not in people:
            people[(day, channel)] = contactability(con, day, channel)
        return people[(day, channel)]

    base = segment_base(con, as_of) if exports.segments else None
    for name, rule in exports.segments.items():
        channel = rule.channel
        today = people_on(as_of, channel)
        contactable = today.loc[today["is_contactable"].astype(bool), "customer_key"]
        members = segment_members(con, name, rule, as_of, base=base)
        members = members[is_in(members["customer_key"], contactable)].reset_index(drop=True)
        previous = con.execute(
            "select customer_key, bool_or(is_control) as is_control "
            "from analytics.campaign_members where campaign = $campaign and as_of_date < $as_of "
            "group by customer_key",
            {"campaign": name, "as_of": as_of},
        ).df()
        members["is_control"] = assign_control(members, name, exports.control_share, key, previous)
        replace_rows(
            con,
            CAMPAIGN_MEMBERS,
            members.assign(as_of_date=as_of, campaign=name),
            {"campaign": name, "as_of_date": as_of},
        )
        treated = members.loc[~members["is_control"], "customer_key"].tolist()
        audience = _audience(con, treated, as_of).assign(segment=name)
        audience = audience.loc[:, list(AUDIENCE_COLUMNS)]
        previous_day = _previous_export_day(con, name, as_of)
        before = people_on(previous_day, channel) if previous_day is not None else None
        stopped = suppressed_people(
            con, name, previous_day, set(treated), today, channel, people_before=before
        )
        optouts = int(is_in(stopped["reason"], OPTOUT_REASONS).sum())
        summary.segments[name] = {
            "members": len(members),
            "treated": len(treated),
            "control": int(members["is_control"].sum()),
            "optouts": optouts,
            "leavers": len(stopped) - optouts,
        }
        tools = [t for t in exports.tools if channel == "email" or t in SMS_PROFILES]
        for tool in tools:
            profile = profile_for(tool, channel)
            delimiter = exports.brevo_delimiter if tool == "brevo" else profile.delimiter
            stem = f"{tool}_{name}_{as_of.isoformat()}"
            files = _tool_files(
                profile, stem, name, audience, stopped, delimiter, exports.recommendations
            )
            folder = exports_dir / tool / name / as_of.isoformat()
            manifest = publish_export(
                folder,
                files,
                {
                    "as_of_date": as_of.isoformat(),
                    "tool": tool,
                    "segment": name,
                    "channel": channel,
                    "definition": rule.model_dump(exclude_none=True),
                    "control_share": exports.control_share,
                    **summary.segments[name],
                },
            )
            log = pd.DataFrame(
                [
                    {
                        "as_of_date": as_of,
                        "tool": tool,
                        "segment": name,
                        "file_name": f["name"],
                        "kind": f["kind"],
                        "rows": f["rows"],
                        "sha256": f["sha256"],
                        "exported_at": datetime.now(),
                    }
                    for f in manifest["files"]
                ]
            )
            replace_rows(con, EXPORT_LOG, log, {"as_of_date": as_of, "tool": tool, "segment": name})
            summary.files += len(files) + 1
    return summary


def forget_erased(con: duckdb.DuckDBPyConnection) -> int:
    """Remove erased people's addresses and numbers from every earlier day's contactability.

    They were kept until now so this day's suppression files could name them once; from here on
    no table holds them, and no later export can.
    """
    (count,) = con.execute(
        """update pii.customer_contactability set email_normalized = null, phone_e164 = null
        where (email_normalized is not null or phone_e164 is not null) and customer_key in (
            select customer_key from pii.customer_contacts where is_erased
        )"""
    ).fetchone()
    return int(count)
