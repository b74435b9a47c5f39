"""The two-stage cascade's figure (agreement vs. share sent to stage 2) and its HTML report, in the
shared report style (:mod:`judgelm.report.page_style`, :mod:`judgelm.report.figure_style`): headline
cards, the cost ledger, the curve and its table, on one self-contained page. The curve figure and
the ledger table are reused by the guaranteed run's page (:mod:`judgelm.cascade.guaranteed_report`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelm.report.figure_style import (
    ACCENT,
    INK,
    MUTED,
    legend_outside,
    new_figure,
    save_png,
    style_axes,
    to_data_uri,
)
from judgelm.report.page_style import card, cards, chip, definitions, dot, esc, figure, grid, page, panel, pct, table

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from judgelm.cascade.curve import Curve
    from judgelm.cascade.results import CascadeResult

STAGE1, STAGE2, MERGED = "#0891b2", "#f97316", ACCENT


def curve_figure(curve: "Curve", sent_share: float | None = None, title: str = "",
                 xlabel: str = "share of samples sent to stage 2 (%)") -> "Figure":
    """Merged agreement vs. share sent, with both stages alone and the random-split line.
    The legend sits below the axes: inside, it covered the stage-1 line."""
    fig = new_figure(7.0, 4.2)
    ax = fig.subplots()
    x = [100 * p.share for p in curve.points]
    y = [100 * p.agreement for p in curve.points]
    ax.plot(x, y, color=MERGED, lw=2, label="cascade (least confident sent first)")
    a0 = 100 * curve.stage1_agreement
    ax.axhline(a0, color=STAGE1, lw=1, ls="--", label=f"stage 1 alone {a0:.2f}%")
    if curve.stage2_agreement is not None:
        a1 = 100 * curve.stage2_agreement
        ax.axhline(a1, color=STAGE2, lw=1, ls="--", label=f"stage 2 alone {a1:.2f}%")
        ax.plot([0, 100], [a0, a1], color=MUTED, lw=1, ls=":", label="random split (expected)")
    if sent_share is not None and 100 * sent_share <= x[-1] + 1e-9:
        k = int(round(sent_share * curve.n))
        ax.plot([x[k]], [y[k]], "o", color=INK, label=f"this run: {x[k]:.1f}% sent → {y[k]:.2f}%")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("agreement with gold (%)")
    ax.set_xlim(0, 100)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    style_axes(ax, grid="both")
    legend_outside(ax, "below", ncol=2)
    fig.tight_layout()
    return fig


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}%"


def ledger_rows(stages: list[dict[str, Any]]) -> list[list[str]]:
    """One table row per stage ledger (a dict of :class:`judgelm.cascade.results.StageLedger`)."""
    return [[f"{s['stage']}", s["judge"], str(s["samples"]), str(s["calls"]), str(s["prompt_tokens"]),
             str(s["completion_tokens"]), f"${s['usd']:.4f}", f"{s['wall_s']:.1f}s",
             "recorded" if s["recorded"] else "live"] for s in stages]


LEDGER_HEAD = ["stage", "judge", "samples", "calls", "prompt tok", "completion tok", "USD", "time", "source"]


def curve_table(curve: "Curve", last: str = "stage 2 on sent") -> str:
    rows = [[f"{100 * p.share:.0f}%", str(p.sent), _pct(p.agreement), _pct(p.f1), _pct(p.kept_agreement),
             _pct(p.sent_agreement)] for p in curve.table]
    return table(["sent", "n", "agreement", "macro F1", "stage 1 on kept", last], rows)


def render_html(result: "CascadeResult", image_uri: str | None, title: str) -> str:
    led = result.ledger.to_dict()
    rows = ledger_rows(led["stages"])
    t = led["total"]
    rows.append(["total", "", str(led["n_samples"]), str(t["calls"]), str(t["prompt_tokens"]),
                 str(t["completion_tokens"]), f"${t['usd']:.4f}", f"{t['wall_s']:.1f}s", ""])
    alone = led["stage2_alone_estimate"]
    ev = result.evaluation
    head = [card("sent to stage 2", f"{pct(led['share_sent'])}<small>%</small>",
                 f"{led['sent_to_stage2']} of {led['n_samples']} samples"),
            card("stage-2 calls saved", f"{led['stage2_calls_saved']:.0f}",
                 f"of ~{alone['calls']:.0f} for stage 2 alone; ${t['usd']:.4f} spent")]
    if ev:
        head.insert(0, card("agreement (merged)", f"{pct(ev['merged']['agreement'])}<small>%</small>",
                            f"stage 1 alone {pct(ev['stage1_alone']['agreement'])}%"
                            + (f", stage 2 alone {pct(ev['stage2_alone']['agreement'])}%" if "stage2_alone" in ev else "")))
    body = [cards(head)]
    sections = [panel("Cost ledger", table(LEDGER_HEAD, rows, row_classes=[""] * len(led["stages"]) + ["best"]),
                      f"Stage 2 on every sample (extrapolated): {alone['calls']:.0f} calls, ${alone['usd']:.4f}, "
                      f"{alone['wall_s']:.1f}s.", wide=True)]
    if ev:
        rows_ev = [["merged (this run)", _pct(ev["merged"]["agreement"]), _pct(ev["merged"]["f1"])],
                   ["stage 1 alone", _pct(ev["stage1_alone"]["agreement"]), _pct(ev["stage1_alone"]["f1"])]]
        if "stage2_alone" in ev:
            rows_ev.append(["stage 2 alone", _pct(ev["stage2_alone"]["agreement"]), _pct(ev["stage2_alone"]["f1"])])
        sections.append(panel(f"Against gold ({ev['n']} samples)", table(["verdicts", "agreement", "macro F1"], rows_ev),
                              f"unparsed verdicts count as {esc(ev['unparsed_policy'])}"))
    if result.curve is not None:
        sections.append(figure("Agreement vs. share sent", image_uri))
        sections.append(panel("Agreement vs. share sent (table)", curve_table(result.curve), wide=True))
    body.append(grid(*sections))
    foot = definitions([
        ("sent", "samples whose stage-1 confidence is lowest go to stage 2 first"),
        ("cascade", f"{dot(MERGED)}stage 1's verdict on the kept samples, stage 2's on the sent ones"),
        ("random split", "what sending a random share would give: the line between both judges alone"),
    ])
    return page(title, "".join(body), kind="cascade", subtitle=f"policy {result.policy.get('kind')}",
                chips=[chip(f"{led['n_samples']} samples"), chip(f"{pct(led['share_sent'])}% sent")], footer=foot)


def write_report(result: "CascadeResult", out_dir: str | Path, title: str = "Cascade") -> dict[str, Path]:
    """curve.png (when there is a curve) and report.html in ``out_dir``."""
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    uri = None
    if result.curve is not None:
        fig = curve_figure(result.curve, sent_share=len(result.sent) / max(1, len(result.order)))
        files["curve_png"] = save_png(fig, out_dir / "curve.png")
        uri = to_data_uri(fig)
    files["report"] = out_dir / "report.html"
    files["report"].write_text(render_html(result, uri, title), encoding="utf-8")
    return files


def describe(summary: dict[str, Any]) -> str:
    """Short text block of the ledger (what the command prints)."""
    led = summary["ledger"]
    lines = []
    for s in led["stages"]:
        lines.append(f"  stage {s['stage']} {s['judge']}: {s['samples']} samples, {s['calls']} calls, "
                     f"{s['prompt_tokens']}+{s['completion_tokens']} tokens, ${s['usd']:.4f}, {s['wall_s']:.1f}s"
                     + (" (recorded)" if s["recorded"] else ""))
    t = led["total"]
    lines.append(f"  total: {t['calls']} calls, ${t['usd']:.4f}; stage 2 alone would take "
                 f"~{led['stage2_alone_estimate']['calls']:.0f} calls, ${led['stage2_alone_estimate']['usd']:.4f}")
    return "\n".join(lines)
