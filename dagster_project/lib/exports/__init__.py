"""Segment files for email and SMS tools: one module per tool, the files written atomically."""

from dagster_project.lib.exports import brevo, generic, hubspot, klaviyo, mailchimp
from dagster_project.lib.exports.profile import ExportProfile

PROFILES: dict[str, ExportProfile] = {
    module.PROFILE.tool: module.PROFILE for module in (mailchimp, klaviyo, brevo, hubspot, generic)
}
# The tools that send SMS, with the profile of their SMS segments' files.
SMS_PROFILES: dict[str, ExportProfile] = {
    module.SMS_PROFILE.tool: module.SMS_PROFILE for module in (klaviyo, brevo, generic)
}


def profile_for(tool: str, channel: str) -> ExportProfile:
    """The tool's profile for a segment sent by `channel` (`email` or `sms`)."""
    return SMS_PROFILES[tool] if channel == "sms" else PROFILES[tool]
