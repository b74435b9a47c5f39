"""The one page style of every judgelm report (eval, cascade, rank): a self-contained HTML page.

Every report is built from these pieces so the three look like one product; the page carries its
CSS inline and its figures as data URIs (no external assets, opens from disk or an artifact store).

API (stable — the cascade and rank reports build on it):

``page(title, body, *, kind, subtitle="", chips=(), footer="") -> str``
    The complete ``<!doctype html>`` document: shared CSS, a header with title, subtitle and
    chips, ``body`` inside ``<main>``, then ``footer`` (HTML, e.g. from :func:`definitions`) and
    the "judgelm · generated …" line. ``kind`` ("eval", "cascade", "rank") is written to
    ``<body data-report=…>``.
``chip(text, warn=False)``
    A pill for the header's chips row (text escaped; ``warn`` draws it amber with a ⚠).
``card(label, value, note="", extra=())`` and ``cards(items)``
    Headline numbers: ``value`` and ``extra`` are HTML (escape user text with :func:`esc`; a
    ``<small>`` in ``value`` draws a unit); ``cards`` lays cards out in a responsive row.
``panel(title, content, note="", wide=False)``, ``figure(title, uri, note="", wide=False)``, ``grid(*sections)``
    Titled white sections. ``figure`` embeds an image (``uri`` from
    :func:`judgelm.report.figure_style.to_data_uri`) with ``alt=title`` and returns "" when ``uri`` is
    None; ``grid`` lays sections out two to a row (``wide`` ones span the row).
``table(head, rows, *, row_classes=None, raw=False)``
    A real ``<table>``: first column left-aligned, the others right-aligned with tabular digits.
    Cells are escaped unless ``raw`` (then they are HTML). ``row_classes`` gives a CSS class per
    row ("best" = bold, "muted" = grey).
``definitions(items)``
    A ``<dl>`` of (term, definition HTML) pairs — the "how to read this" block for the footer.
``esc(x)``, ``pct(x, digits=1)``
    Escape anything as HTML text; ``100·x`` with ``digits`` decimals ("–" for None).
``dot(color)``
    A small coloured disc tying a table row to a series in a figure.

Markers tests rely on: ``<meta name="generator" content="judgelm report">``,
``<style id="judgelm-style">``, ``<header class="jl-header">``, ``<main class="jl-main">``,
``<footer class="jl-footer">``; panels are ``section.panel``, cards ``div.card``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from judgelm.report.figure_style import ACCENT, BAD, BG, GOOD, INK, LINE, MUTED

__all__ = ["CSS", "card", "cards", "chip", "definitions", "dot", "esc", "figure", "grid", "page", "panel", "pct",
           "table"]

CSS = f"""
:root {{ --ink:{INK}; --muted:{MUTED}; --line:{LINE}; --bg:{BG}; --card:#fff; --accent:{ACCENT};
        --good:{GOOD}; --bad:{BAD}; }}
* {{ box-sizing: border-box; }}
body {{ margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }}
.jl-header {{ background:linear-gradient(120deg,#312e81,#4f46e5 60%,#0891b2); color:#fff; padding:28px 40px 24px; }}
.jl-header .brand {{ font-size:11.5px; letter-spacing:.14em; text-transform:uppercase; opacity:.75; }}
.jl-header h1 {{ margin:2px 0 4px; font-size:24px; font-weight:650; letter-spacing:-0.01em; }}
.jl-header .sub {{ opacity:.85; font-size:13.5px; }}
.jl-header .chips {{ margin-top:12px; display:flex; flex-wrap:wrap; gap:8px; }}
.chip {{ background:rgba(255,255,255,.16); border-radius:999px; padding:3px 11px; font-size:12.5px; }}
.chip.warn {{ background:#fde68a; color:#78350f; }}
.jl-main {{ max-width:1180px; margin:0 auto; padding:26px 32px 40px; }}
.cards {{ display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:14px; margin-bottom:22px; }}
.card {{ background:var(--card); border:1px solid var(--line); border-radius:14px; padding:16px 18px;
        box-shadow:0 1px 2px rgba(15,23,42,.04); }}
.card .label {{ color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.06em; }}
.card .value {{ font-size:32px; font-weight:700; letter-spacing:-0.02em; margin:2px 0; }}
.card .value small {{ font-size:15px; font-weight:500; color:var(--muted); }}
.card .note {{ color:var(--muted); font-size:12.5px; }}
.card .extra {{ font-size:12.5px; margin-top:6px; }}
.up {{ color:var(--good); font-weight:600; }} .down {{ color:var(--bad); font-weight:600; }}
.grid {{ display:grid; grid-template-columns:repeat(auto-fit,minmax(460px,1fr)); gap:16px; margin-bottom:16px; }}
.panel {{ background:var(--card); border:1px solid var(--line); border-radius:14px; padding:16px 18px 12px;
         min-width:0; }}
.panel.wide {{ grid-column:1 / -1; }}
.panel h2 {{ font-size:15px; margin:0 0 2px; }}
.panel p.note {{ color:var(--muted); font-size:12.5px; margin:0 0 8px; }}
.panel img {{ max-width:100%; height:auto; display:block; margin:0 auto; }}
.panel .scroll {{ overflow-x:auto; }}
table {{ border-collapse:collapse; width:100%; font-size:13.5px; font-variant-numeric:tabular-nums; }}
th, td {{ padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; }}
th:first-child, td:first-child {{ text-align:left; }}
th {{ color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }}
tr.best td {{ font-weight:650; }} tr.muted td {{ color:var(--muted); }}
code {{ background:#eef2ff; border-radius:5px; padding:1px 5px; font-size:12.5px; }}
.dot {{ display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:7px; }}
.jl-footer {{ color:var(--muted); font-size:12.5px; max-width:1180px; margin:0 auto; padding:0 32px 32px; }}
.jl-footer dt {{ font-weight:600; color:var(--ink); }} .jl-footer dd {{ margin:0 0 6px; }}
"""


def esc(x: Any) -> str:
    """``x`` as escaped HTML text (quotes included, so it is safe in attributes too)."""
    return html.escape(str(x))


def pct(x: float | None, digits: int = 1) -> str:
    """A share as a percentage number without the sign ("–" when unknown)."""
    return "–" if x is None else f"{100 * x:.{digits}f}"


def dot(color: str) -> str:
    """A coloured disc matching a figure's series colour."""
    return f'<span class="dot" style="background:{esc(color)}"></span>'


def chip(text: str, warn: bool = False) -> str:
    """A header pill; ``warn`` marks something the reader must not miss."""
    return f'<span class="chip warn">⚠ {esc(text)}</span>' if warn else f'<span class="chip">{esc(text)}</span>'


def card(label: str, value: str, note: str = "", extra: Iterable[str] = ()) -> str:
    """One headline number (``value``/``note``/``extra`` are HTML)."""
    note_html = f'<div class="note">{note}</div>' if note else ""
    extra_html = "".join(f'<div class="extra">{e}</div>' for e in extra)
    return (f'<div class="card"><div class="label">{esc(label)}</div><div class="value">{value}</div>'
            f"{note_html}{extra_html}</div>")


def cards(items: Iterable[str]) -> str:
    """A responsive row of :func:`card` blocks."""
    return f'<div class="cards">{"".join(items)}</div>'


def panel(title: str, content: str, note: str = "", wide: bool = False) -> str:
    """A titled section around ``content`` (HTML); ``wide`` spans the whole grid row."""
    note_html = f'<p class="note">{note}</p>' if note else ""
    return f'<section class="panel{" wide" if wide else ""}"><h2>{esc(title)}</h2>{note_html}{content}</section>'


def figure(title: str, uri: str | None, note: str = "", wide: bool = False) -> str:
    """A panel holding one image (alt text = title); "" when there is no figure to show."""
    if uri is None:
        return ""
    return panel(title, f'<img alt="{esc(title)}" src="{uri}">', note, wide)


def grid(*sections: str) -> str:
    """Panels two to a row (wide panels take a row of their own)."""
    return f'<div class="grid">{"".join(sections)}</div>'


def table(head: Sequence[str], rows: Iterable[Sequence[Any]], *, row_classes: Sequence[str] | None = None,
          raw: bool = False) -> str:
    """A real HTML table (scrolls sideways inside its panel when it is wider than the page)."""
    cell = (lambda c: str(c)) if raw else esc
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = []
    for k, r in enumerate(rows):
        cls = row_classes[k] if row_classes and k < len(row_classes) and row_classes[k] else ""
        tr = f'<tr class="{esc(cls)}">' if cls else "<tr>"
        body.append(tr + "".join(f"<td>{cell(c)}</td>" for c in r) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def definitions(items: Iterable[tuple[str, str]]) -> str:
    """The "how to read this page" list: (term, definition HTML) pairs."""
    return "<dl>" + "".join(f"<dt>{esc(t)}</dt><dd>{d}</dd>" for t, d in items) + "</dl>"


def page(title: str, body: str, *, kind: str, subtitle: str = "", chips: Iterable[str] = (),
         footer: str = "") -> str:
    """The whole document; ``chips`` are :func:`chip` strings, ``body`` and ``footer`` HTML."""
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    chip_html = "".join(chips)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="judgelm report"><title>{esc(title)}</title>
<style id="judgelm-style">{CSS}</style></head>
<body data-report="{esc(kind)}"><header class="jl-header"><div class="brand">judgelm · {esc(kind)} report</div>
<h1>{esc(title)}</h1><div class="sub">{esc(subtitle)}</div><div class="chips">{chip_html}</div></header>
<main class="jl-main">{body}</main>
<footer class="jl-footer">{footer}<p>judgelm · generated {generated}</p></footer></body></html>
"""
