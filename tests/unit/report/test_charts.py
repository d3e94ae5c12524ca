"""The report's SVG rendering: ids that are unique on a page and stable between renders."""

from __future__ import annotations

import re

from matplotlib.figure import Figure

from dagster_project.lib.report.charts import to_svg


def gridded_figure(left: float) -> Figure:
    figure = Figure(figsize=(4, 3))
    axes = figure.add_axes((left, 0.1, 0.8, 0.8))
    axes.plot([0, 1, 2], [1, 3, 2], marker="o")
    axes.grid(True)  # grid lines are clipped to the axes: a clip path with an id
    return figure


def test_a_last_bit_difference_in_layout_leaves_the_svg_identical():
    # The clip rectangle's id was a hash of its float bounds: 1e-15 apart, same drawing,
    # different bytes (a report of the same day once differed only there).
    first = to_svg(gridded_figure(0.1), "c", "chart")
    second = to_svg(gridded_figure(0.1 + 1e-15), "c", "chart")
    assert 'clip-path="url(#c-p-0)"' in first
    assert first == second


def test_ids_are_prefixed_and_every_reference_points_at_one():
    svg = to_svg(gridded_figure(0.1), "tiers", "chart")
    ids = re.findall(r'\bid="([^"]+)"', svg)
    assert ids and all(i.startswith("tiers-") for i in ids)
    assert len(ids) == len(set(ids))
    references = re.findall(r'url\(#([^)]+)\)|href="#([^"]+)"', svg)
    assert references
    for reference in references:
        assert "".join(reference) in ids
