"""The pseudonymisation key of a step, with the demo-key rule of lib/privacy applied."""

import dagster as dg

from dagster_project.config import Settings
from dagster_project.lib.privacy import DemoKeyRefused, run_pseudonym_key


def step_key(settings: Settings) -> tuple[str, bool]:
    """The key a step hashes with, and whether it is the demo key; outside demo mode the demo
    key fails the step in one line (as `loyalty run` refuses it before starting)."""
    privacy = settings.privacy
    try:
        return run_pseudonym_key(
            privacy.key_env, demo=privacy.demo, config_path=settings.config_path
        )
    except DemoKeyRefused as refused:
        raise dg.Failure(description=str(refused), allow_retries=False) from None
