"""A Dagster logger that prints one short line per step, for people watching `loyalty run`, and
one line per failed check (a `warn` does not stop the run, so this line is where people see it)."""

from __future__ import annotations

import logging
import sys
import time

import dagster as dg

_STARTED: dict[str, float] = {}


class _StepLines(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        step = meta.get("step_key")
        if event is None or step is None:
            return
        kind = event.event_type_value
        if kind == "STEP_START":
            _STARTED[step] = time.monotonic()
            print(f"  … {step}", file=sys.stderr, flush=True)
        elif kind == "STEP_SUCCESS":
            seconds = time.monotonic() - _STARTED.pop(step, time.monotonic())
            print(f"  ✓ {step} ({seconds:.1f}s)", file=sys.stderr, flush=True)
        elif kind == "STEP_FAILURE":
            print(f"  ✗ {step}", file=sys.stderr, flush=True)
        elif kind == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                mark = "✗" if evaluation.severity == dg.AssetCheckSeverity.ERROR else "!"
                # dbt's tests carry no description: their check's name says what failed.
                what = evaluation.description or (
                    f"{evaluation.asset_key.to_user_string()}: {evaluation.check_name} failed"
                )
                print(f"  {mark} {what}", file=sys.stderr, flush=True)


@dg.logger(description="One line per step started, finished or failed.")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("loyalty.progress", level=logging.DEBUG)
    logger.addHandler(_StepLines())
    return logger
