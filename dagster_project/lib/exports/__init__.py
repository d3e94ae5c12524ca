"""Segment files for email tools: one module per tool profile, the files written atomically."""

from dagster_project.lib.exports import brevo, generic, hubspot, klaviyo, mailchimp
from dagster_project.lib.exports.profile import ExportProfile

PROFILES: dict[str, ExportProfile] = {
    module.PROFILE.tool: module.PROFILE for module in (mailchimp, klaviyo, brevo, hubspot, generic)
}
