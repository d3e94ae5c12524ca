import pytest

from dagster_project.config import ConfigError, settings_from_dict
from dagster_project.lib.rfm import DEFAULT_SEGMENTS, SchemeError, parse_range, scheme_cells

ELEVEN = {
    "Champions",
    "Loyal",
    "Potential Loyalist",
    "New",
    "Promising",
    "Need Attention",
    "About to Sleep",
    "At Risk",
    "Can't Lose Them",
    "Hibernating",
    "Lost",
}


def test_the_default_scheme_names_all_eleven_segments_and_covers_the_grid_once():
    cells = scheme_cells(DEFAULT_SEGMENTS)
    assert len(cells) == 25
    assert {c["segment"] for c in cells} == ELEVEN
    by_cell = {(c["r_score"], c["fm_score"]): c["segment"] for c in cells}
    assert by_cell[(5, 5)] == "Champions" and by_cell[(1, 1)] == "Lost"
    assert by_cell[(5, 1)] == "New" and by_cell[(1, 5)] == "Can't Lose Them"


def test_an_overlap_is_refused_naming_the_cell_and_both_segments():
    scheme = {**DEFAULT_SEGMENTS, "Loyal": [{"r": "4", "fm": "4"}, {"r": "3", "fm": "3-5"}]}
    with pytest.raises(SchemeError, match="R=3 FM=3 is in both 'Loyal' and 'Need Attention'"):
        scheme_cells(scheme)


def test_a_gap_is_refused_naming_the_cell():
    scheme = {**DEFAULT_SEGMENTS, "Lost": []}
    with pytest.raises(SchemeError, match=r"^R=1 FM=1 is in no segment$"):
        scheme_cells(scheme)


@pytest.mark.parametrize("value", ["0", "6", "5-3", "a", "1-2-3"])
def test_bad_ranges_are_refused(value):
    with pytest.raises(SchemeError):
        parse_range(value)


def test_the_config_refuses_a_bad_scheme_with_the_key_and_the_cell():
    with pytest.raises(ConfigError) as error:
        settings_from_dict(
            {"segmentation": {"rfm_segments": {"Everyone": [{"r": "1-5", "fm": "1-4"}]}}}
        )
    assert str(error.value) == "configuration: segmentation.rfm_segments: R=1 FM=5 is in no segment"


def test_tier_cutoffs_must_increase():
    with pytest.raises(ConfigError, match="gold < silver < bronze"):
        settings_from_dict({"segmentation": {"tiers": {"gold": 0.9}}})
