"""The shared report style: page pieces escape what they show, tables are tables, legends sit
outside the plotting area (they hide no data) in every placement."""

from __future__ import annotations

import base64

import pytest

from judgelm.report.figure_style import (
    legend_outside,
    new_figure,
    save_png,
    style_axes,
    to_data_uri,
)
from judgelm.report.page_style import card, chip, figure, page, table


def test_page_has_the_shared_markers_and_escapes_text() -> None:
    html = page("A <b> title", card("n", "3<small>%</small>") + figure("none", None)
                + table(["model", "score"], [["<x>", 1.5]], row_classes=["best"]),
                kind="rank", subtitle="s & t", chips=[chip("5 games"), chip("careful", warn=True)])
    assert '<meta name="generator" content="judgelm report">' in html and '<style id="judgelm-style">' in html
    assert '<header class="jl-header">' in html and '<main class="jl-main">' in html and 'data-report="rank"' in html
    assert "A &lt;b&gt; title" in html and "s &amp; t" in html and "⚠ careful" in html
    assert '<tr class="best"><td>&lt;x&gt;</td><td>1.5</td></tr>' in html
    assert "<img" not in html  # figure() without an image adds nothing


@pytest.mark.parametrize("where", ["right", "below"])
def test_legend_outside_never_overlaps_the_plotting_area(where: str, tmp_path) -> None:
    fig = new_figure(4.6, 3.0)
    ax = fig.subplots()
    for k in range(3):
        ax.plot([0, 1, 2], [k, k + 1, k + 2], label=f"series number {k}")
    ax.set_xlabel("a label under the ticks")
    style_axes(ax, grid="y")
    leg = legend_outside(ax, where)
    fig.tight_layout()
    r = fig.canvas.get_renderer()
    box, area, ticks = leg.get_window_extent(r), ax.get_window_extent(r), ax.get_tightbbox(r)
    assert not box.overlaps(area)
    if where == "below":  # under the tick labels and the x label, not on them
        assert box.y1 <= ax.xaxis.get_tightbbox(r).y0 + 1e-6
    else:
        assert box.x0 >= area.x1
    assert ticks.contains(box.x0 + 1, box.y0 + 1)  # part of what gets saved
    png = base64.b64decode(to_data_uri(fig).split(",", 1)[1])
    assert png.startswith(b"\x89PNG") and save_png(fig, tmp_path / "f.png").stat().st_size > 1000


def test_legend_outside_without_labels_and_bad_placement() -> None:
    ax = new_figure(2, 2).subplots()
    ax.plot([0, 1])
    assert legend_outside(ax) is None
    ax.plot([0, 1], label="x")
    with pytest.raises(ValueError):
        legend_outside(ax, "inside")
