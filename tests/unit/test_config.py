from pathlib import Path

import pytest

from dagster_project.config import ConfigError, load_settings, settings_from_dict


def test_the_minimal_config_of_the_design_loads_with_paths_beside_it(
    tmp_path: Path, minimal_config_text: str
):
    config = tmp_path / "loyalty.yml"
    config.write_text(minimal_config_text, encoding="utf-8")
    settings = load_settings(config)
    assert settings.warehouse_path == tmp_path / "warehouse.duckdb"
    assert settings.landing_path == tmp_path / "landing"
    assert settings.sources.transactions.columns.mapped()["order_id"] == "InvoiceNo"
    assert settings.folder_source_dir("pos_tickets") == tmp_path / "landing" / "pos" / "tickets"
    assert settings.clv.time_unit == "W"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"clv": {"modle": "bgnbd"}}, "clv.modle: unknown key"),
        ({"clv": {"model": "magic"}}, "clv.model: Input should be"),
        ({"timezone": "Mars/Olympus"}, "timezone: unknown timezone 'Mars/Olympus'"),
        (
            {"sources": {"transactions": {"path": "x.csv"}}},
            "sources.transactions.columns: required key is missing",
        ),
        ({"sources": {"tickets": {}}}, "sources.tickets: unknown key"),
        (
            {
                "sources": {
                    "transactions": {"path": "x", "columns": {"ordered_at": "d", "quantity": "q"}}
                }
            },
            "map both quantity and unit_price",
        ),
        ({"start_date": "yesterday"}, "start_date:"),
        ({"warehouse": {"engine": "snowflake"}}, "warehouse.engine: Input should be"),
        ({"warehouse": {"spark": {"masters": "local"}}}, "warehouse.spark.masters: unknown key"),
    ],
)
def test_a_bad_key_or_value_is_rejected_naming_the_key(data, message):
    with pytest.raises(ConfigError) as error:
        settings_from_dict(data)
    assert message in str(error.value)


def test_a_missing_file_and_bad_yaml_are_one_line_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_settings(tmp_path / "absent.yml")
    broken = tmp_path / "broken.yml"
    broken.write_text("timezone: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(broken)
    assert "line" in str(error.value) and "\n" not in str(error.value)


def test_the_repository_demo_config_is_valid():
    settings = load_settings(Path(__file__).resolve().parents[2] / "loyalty.yml")
    assert settings.start_date.isoformat() == "2024-01-01"


def test_dbt_var_defaults_are_the_config_defaults():
    """dbt run by hand uses dbt_project.yml's vars; the pipeline passes loyalty.yml's."""
    import yaml

    from dagster_project.defs.transform.dbt_assets import settings_vars

    project = yaml.safe_load(
        (Path(__file__).resolve().parents[2] / "dbt" / "dbt_project.yml").read_text(
            encoding="utf-8"
        )
    )
    expected = settings_vars(settings_from_dict({}))
    for key, value in project["vars"].items():
        if key in expected:
            assert value == expected[key], key
    assert project["vars"]["rfm_scheme"]


@pytest.mark.parametrize(
    ("segment", "message"),
    [
        (
            {"where": "prescription_net_amount > 0"},
            r"exports\.segments\.vip\.where: unknown column 'prescription_net_amount'",
        ),
        ({}, r"exports\.segments\.vip: .*give at least one of rfm_segment"),
        ({"value_tier": ["platinum"]}, r"exports\.segments\.vip\.value_tier\.0"),
    ],
)
def test_an_export_segment_that_cannot_be_used_is_refused_naming_it(segment, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_dict({"exports": {"tools": ["mailchimp"], "segments": {"vip": segment}}})


def test_a_segment_name_must_be_able_to_name_a_folder():
    with pytest.raises(ConfigError, match=r"segment name 'a/b'"):
        settings_from_dict({"exports": {"segments": {"a/b": {"value_tier": ["gold"]}}}})


@pytest.mark.parametrize(
    ("database", "message"),
    [
        ({}, r"sources\.pos_database: name tickets, members or both"),
        ({"tickets": {}}, r"sources\.pos_database\.tickets: give either table or query"),
        (
            {"tickets": {"table": "t", "columns": {"amount": "total"}}},
            r"sources\.pos_database: tickets\.columns: unknown column 'amount'",
        ),
        ({"url": "postgresql://pos:secret@db/pos"}, r"sources\.pos_database\.url: unknown key"),
    ],
)
def test_a_pos_database_source_that_cannot_be_read_is_refused_naming_the_key(database, message):
    with pytest.raises(ConfigError, match=message):
        settings_from_dict({"sources": {"pos_database": database}})


def test_a_table_read_from_the_pos_database_has_no_landing_folder(tmp_path: Path):
    database = {"members": {"table": "pos.members", "columns": {"card_id": "card_number"}}}
    settings = settings_from_dict({"sources": {"pos_database": database}}, tmp_path / "loyalty.yml")
    assert settings.sources.database_table("pos_members").columns == {"card_id": "card_number"}
    assert settings.folder_source_dir("pos_members") is None
    assert settings.folder_source_dir("pos_tickets") == tmp_path / "landing" / "pos" / "tickets"
    with pytest.raises(ConfigError, match=r"pos_members comes from pos_database\.members"):
        settings_from_dict({"sources": {"pos_database": database, "pos_members": {"path": "m"}}})


def test_a_spark_warehouse_keeps_its_folder_beside_the_config(tmp_path: Path):
    settings = settings_from_dict(
        {"warehouse": {"engine": "spark", "spark": {"conf": {"spark.driver.memory": "8g"}}}},
        config_path=tmp_path / "loyalty.yml",
    )
    assert settings.warehouse.engine == "spark"
    assert settings.spark_dir == tmp_path / "spark"
    assert settings.warehouse.spark.master == "local[2]"
    assert settings.warehouse.spark.conf == {"spark.driver.memory": "8g"}
    assert settings.spark_staging == tmp_path / "spark_staging"
    shared = settings_from_dict(
        {"warehouse": {"engine": "spark", "spark": {"staging": "/mnt/shared/staging"}}},
        config_path=tmp_path / "loyalty.yml",
    )
    assert shared.spark_staging == Path("/mnt/shared/staging")
