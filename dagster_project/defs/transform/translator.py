"""How dbt's models and sources become Dagster assets: keys that follow the warehouse
(`marts/fct_transactions`; a source `raw/pos_tickets`, the ingest asset that loads it), groups
that follow the model folders, and the marts' freshness policy.

Only `get_asset_spec` is overridden (dagster-dbt builds every dependency, check and event from
it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject

MARTS_GROUP = "marts"
ANALYTICS = "analytics"


def warehouse_key(node: Mapping[str, Any]) -> dg.AssetKey:
    """`schema/table` of a dbt model or source, as the warehouse names it."""
    if node["resource_type"] == "source":
        return dg.AssetKey([node["schema"], node["identifier"]])
    return dg.AssetKey([node["schema"], node.get("alias") or node["name"]])


def layer(node: Mapping[str, Any]) -> str:
    """The group: the first folder under models/ (fqn = [project, folder, ..., name]); but every
    model computed as of a day (tag analytics) is the analytics', whichever schema keeps it
    (pii/as_of: consent as of the day), as the analytics step builds it."""
    if ANALYTICS in node.get("tags", []):
        return ANALYTICS
    fqn = node.get("fqn", [])
    return fqn[1] if len(fqn) > 2 else "dbt"


class LoyaltyDbtTranslator(DagsterDbtTranslator):
    def __init__(self, marts_freshness: dg.FreshnessPolicy | None = None):
        super().__init__()
        self._marts_freshness = marts_freshness

    def get_asset_spec(
        self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = self.get_resource_props(manifest, unique_id)
        spec = spec.replace_attributes(key=warehouse_key(node), group_name=layer(node))
        if self._marts_freshness is not None and spec.group_name == MARTS_GROUP:
            spec = dg.apply_freshness_policy(spec, self._marts_freshness)
        return spec
