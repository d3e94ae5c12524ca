"""Every asset's key, group, kinds, partitioning, checks and upstream assets, against the recorded
snapshot: a change to the graph is a visible diff in review (tests/integration/snapshots/).

After a deliberate change, record the new graph with
`UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/integration/test_asset_graph_snapshot.py`
and commit the snapshot with the change.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from dagster_project.config import load_settings
from dagster_project.definitions import build_definitions

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"
CONFIG = """\
timezone: Europe/Madrid
start_date: 2025-01-01
warehouse: {path: w.duckdb}
exports:
  tools: [mailchimp, generic]
  segments: {everyone: {where: 'frequency >= 0'}}
"""


def _partitioning(node) -> str | None:
    partitions = node.partitions_def
    if partitions is None:
        return None
    if isinstance(partitions, dg.TimeWindowPartitionsDefinition):
        return f"{partitions.cron_schedule} from {partitions.start.date()} ({partitions.timezone})"
    return type(partitions).__name__


def graph_snapshot(defs: dg.Definitions) -> dict[str, dict]:
    graph = defs.resolve_asset_graph()
    snapshot = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        snapshot[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "partitions": _partitioning(node),
            "upstream": sorted(parent.to_user_string() for parent in node.parent_keys),
            "checks": sorted(check.name for check in node.check_keys),
        }
    return snapshot


def test_the_asset_graph_is_the_recorded_one(tmp_path: Path):
    config = tmp_path / "loyalty.yml"
    config.write_text(CONFIG, encoding="utf-8")
    current = graph_snapshot(build_definitions(load_settings(config)))
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    changed = sorted(
        key for key in current.keys() | recorded.keys() if current.get(key) != recorded.get(key)
    )
    assert not changed, (
        f"the asset graph changed at {changed[:10]}; if that is meant, record it "
        "(UPDATE_SNAPSHOTS=1, see this file's docstring)"
    )
    assert len(current) > 50
