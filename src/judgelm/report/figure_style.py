"""The shared figure style of every judgelm report: palette, figure factory, axes style, legends
that never sit on the data, and PNG/data-URI output (matplotlib, Agg backend, no display).

API (stable — the eval, cascade and rank reports build on it):

``new_figure(w, h) -> Figure``
    A transparent figure of ``w``×``h`` inches at the reports' dpi with an Agg canvas (no
    pyplot, no global state; safe in threads and servers).
``style_axes(ax, grid=None)``
    The reports' axes look: no top/right spines, muted ticks and labels; ``grid`` "x", "y" or
    "both" adds a faint grid.
``legend_outside(ax, where="right", ncol=None) -> Legend | None``
    The axes' legend placed outside the plotting area — "right" (beside it, top-aligned) or
    "below" (under the tick labels and x label, measured, so it never overlaps them) — so no
    line or bar is hidden. Call it after plotting; ``tight_layout`` and the PNG output keep room
    for it. Returns None when nothing is labelled.
``to_data_uri(fig) -> str`` and ``save_png(fig, path)``
    The figure as an inline ``data:image/png;base64,…`` URI (for :func:`judgelm.report.page_style.figure`)
    (transparent, it sits on a white panel) or a PNG file on white; both are cropped tight around
    everything drawn, legends included.

Palette: ``INK``, ``MUTED``, ``LINE``, ``BG``, ``ACCENT``, ``GOOD``, ``BAD`` (shared with the page CSS),
``SERIES`` (ordered colours for unnamed series), ``SEQUENTIAL`` and ``DIVERGING`` (colormap names).
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.legend import Legend

__all__ = ["ACCENT", "BAD", "BG", "DIVERGING", "GOOD", "INK", "LINE", "MUTED", "SEQUENTIAL", "SERIES", "legend_outside",
           "new_figure", "save_png", "style_axes", "to_data_uri"]

INK = "#1e293b"
MUTED = "#64748b"
LINE = "#e2e8f0"
BG = "#f8fafc"
ACCENT = "#4f46e5"
GOOD = "#059669"
BAD = "#e11d48"
#: colours for series without a fixed meaning, in the order they are used
SERIES = ("#4f46e5", "#0891b2", "#f97316", "#e11d48", "#7c3aed", "#10b981", "#f59e0b", "#94a3b8")
SEQUENTIAL = "Purples"
DIVERGING = "RdBu"

DPI = 110
_SPINE = "#cbd5e1"


def new_figure(w: float, h: float) -> Figure:
    """A transparent ``w``×``h`` inch figure with its own Agg canvas (no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.patch.set_alpha(0)
    return fig


def style_axes(ax: Axes, grid: str | None = None) -> None:
    """Quiet spines and muted ticks; ``grid`` ("x", "y", "both") adds a faint grid behind the data."""
    ax.spines[["top", "right"]].set_visible(False)
    ax.spines[["left", "bottom"]].set_color(_SPINE)
    ax.tick_params(colors=MUTED, labelsize=9)
    ax.title.set_color(INK)
    ax.xaxis.label.set_color(MUTED)
    ax.yaxis.label.set_color(MUTED)
    if grid:
        ax.grid(axis=grid, alpha=0.25)
        ax.set_axisbelow(True)


def legend_outside(ax: Axes, where: str = "right", ncol: int | None = None) -> Legend | None:
    """Put the legend outside the plotting area so it hides no data (see the module docstring)."""
    from matplotlib.transforms import ScaledTranslation

    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    common: dict[str, Any] = {"frameon": False, "fontsize": 8.5, "labelcolor": INK, "borderaxespad": 0.0}
    if where == "right":
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), ncol=ncol or 1, **common)
    if where != "below":
        raise ValueError(f"legend_outside: where must be 'right' or 'below', not {where!r}")
    # the distance from the axes' bottom to the bottom of its tick labels and x label is fixed in
    # points (it does not change when tight_layout resizes the axes): measure it, anchor below it
    fig = ax.get_figure()
    renderer = fig.canvas.get_renderer()
    drop_px = ax.get_window_extent(renderer).y0 - ax.get_tightbbox(renderer).y0
    shift = ScaledTranslation(0, -(drop_px / fig.dpi + 0.08), fig.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     bbox_transform=ax.transAxes + shift, ncol=ncol or min(len(handles), 4), **common)


def _png(fig: Figure, transparent: bool) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight", pad_inches=0.08, transparent=transparent,
                facecolor="none" if transparent else "white")
    return buf.getvalue()


def to_data_uri(fig: Figure) -> str:
    """The figure as an inline ``data:image/png;base64,...`` URI."""
    return "data:image/png;base64," + base64.b64encode(_png(fig, transparent=True)).decode("ascii")


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write the figure as a PNG file (same cropping as :func:`to_data_uri`, on white: it is viewed alone)."""
    path = Path(path)
    path.write_bytes(_png(fig, transparent=False))
    return path
