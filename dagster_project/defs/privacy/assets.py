"""The erasure asset: after each build, an erased person's values leave raw, quarantine and the
segment files of earlier days.

Thin on purpose: who is erased is dbt's (`pii.erased_identities`), what is redacted and how is
`lib/erasure`. The asset reports what each pass did in counts only: its materialisations are the
record that an erasure was applied, without saying who.
"""

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from dagster_project.config import Settings
from dagster_project.defs.engines import Engine
from dagster_project.defs.privacy.keys import step_key
from dagster_project.defs.resources import WAREHOUSE_POOL, WarehouseResource
from dagster_project.lib.erasure.exports import purge_export_files
from dagster_project.lib.erasure.warehouse import redact_erased

PRIVACY_GROUP = "privacy"
ERASURE_EXPORTS = dg.AssetKey(["ops", "erasure_exports"])


def erasure_asset(
    settings: Settings, engine: Engine, dbt: dg.AssetsDefinition
) -> dg.AssetsDefinition:
    @dg.asset(
        key=ERASURE_EXPORTS,
        deps=[get_asset_key_for_model([dbt], "erased_identities")],
        group_name=PRIVACY_GROUP,
        kinds={"python", "duckdb"},
        pool=WAREHOUSE_POOL,
    )
    def erasure_exports(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        """Applies every erasure to what the pipeline keeps besides the models dbt rebuilds:
        the delivered rows in raw (personal values removed, keyed hashes kept), quarantined
        records naming the person, erasure requests (kept as keyed hashes), and the segment
        files of earlier days (rewritten without the person's rows). The table: per erased
        customer_key, the export day their files were rewritten up to."""
        key, _ = step_key(settings)
        delimiters = {"brevo": settings.exports.brevo_delimiter}
        with warehouse.connect() as con:
            counts = redact_erased(con, key, settings.contacts.default_region)
            files = purge_export_files(con, settings.resolve(settings.exports_dir), key, delimiters)
        engine.after_raw_redacted(context, warehouse, counts.raw_days)
        raw_rows, quarantined = sum(counts.raw_rows.values()), sum(counts.quarantine_rows.values())
        context.log.info(
            f"Erasure: {counts.people} people erased; this pass redacted {raw_rows} raw and "
            f"{quarantined} quarantined rows, removed {files.rows} rows from export files"
        )
        return dg.MaterializeResult(
            metadata={
                "people_erased": counts.people,
                "raw_rows_redacted": dg.MetadataValue.json(counts.raw_rows),
                "quarantine_rows_redacted": dg.MetadataValue.json(counts.quarantine_rows),
                "export_rows_removed": files.rows,
                "export_files_rewritten": files.files,
            }
        )

    return erasure_exports
