"""The cascade's figure (agreement vs. share sent to stage 2) and a one-page HTML report
with the cost ledger and the curve table (self-contained: the image is inlined)."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from judgelm.cascade.curve import Curve
    from judgelm.cascade.results import CascadeResult

STAGE1, STAGE2, MERGED, INK, MUTED = "#0891b2", "#f97316", "#4f46e5", "#1e293b", "#64748b"


def _figure(w: float, h: float) -> "Figure":
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110)


def curve_figure(curve: "Curve", sent_share: float | None = None, title: str = "") -> "Figure":
    """Merged agreement vs. share sent, with both stages alone and the random-split line."""
    fig = _figure(7.0, 4.2)
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
    ax.set_xlabel("share of samples sent to stage 2 (%)")
    ax.set_ylabel("agreement with gold (%)")
    ax.set_xlim(0, 100)
    ax.grid(alpha=0.25)
    ax.spines[["top", "right"]].set_visible(False)
    # below the axes: inside, the legend covered the stage-1 line (issue 19)
    ax.legend(frameon=False, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    if title:
        ax.set_title(title, fontsize=11, loc="left")
    fig.tight_layout()
    return fig


def _table(rows: list[list[str]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.2f}%"


def render_html(result: "CascadeResult", image_uri: str | None, title: str) -> str:
    led = result.ledger.to_dict()
    stage_rows = [
        [str(s["stage"]), s["judge"], str(s["samples"]), str(s["calls"]), str(s["prompt_tokens"]),
         str(s["completion_tokens"]), f"${s['usd']:.4f}", f"{s['wall_s']:.1f}s", "recorded" if s["recorded"] else "live"]
        for s in led["stages"]
    ]
    t = led["total"]
    stage_rows.append(["total", "", str(led["n_samples"]), str(t["calls"]), str(t["prompt_tokens"]),
                       str(t["completion_tokens"]), f"${t['usd']:.4f}", f"{t['wall_s']:.1f}s", ""])
    alone = led["stage2_alone_estimate"]
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{led['sent_to_stage2']} of {led['n_samples']} samples ({100 * led['share_sent']:.1f}%) sent to stage 2; "
        f"policy <code>{html.escape(str(result.policy))}</code>.</p>",
        "<h2>Cost ledger</h2>",
        _table(stage_rows, ["stage", "judge", "samples", "calls", "prompt tok", "completion tok", "USD", "time", "source"]),
        f"<p>Stage 2 on every sample (extrapolated): {alone['calls']:.0f} calls, ${alone['usd']:.4f}, "
        f"{alone['wall_s']:.1f}s.</p>",
    ]
    ev = result.evaluation
    if ev:
        rows = [["merged (this run)", _pct(ev["merged"]["agreement"]), _pct(ev["merged"]["f1"])],
                ["stage 1 alone", _pct(ev["stage1_alone"]["agreement"]), _pct(ev["stage1_alone"]["f1"])]]
        if "stage2_alone" in ev:
            rows.append(["stage 2 alone", _pct(ev["stage2_alone"]["agreement"]), _pct(ev["stage2_alone"]["f1"])])
        parts += [f"<h2>Against gold ({ev['n']} samples, unparsed = {ev['unparsed_policy']})</h2>",
                  _table(rows, ["verdicts", "agreement", "macro F1"])]
    if result.curve is not None:
        if image_uri:
            parts.append(f'<img alt="agreement vs share sent" src="{image_uri}">')
        rows = [[f"{100 * p.share:.0f}%", str(p.sent), _pct(p.agreement), _pct(p.f1), _pct(p.kept_agreement),
                 _pct(p.sent_agreement)] for p in result.curve.table]
        parts += ["<h2>Agreement vs. share sent</h2>",
                  _table(rows, ["sent", "n", "agreement", "macro F1", "stage 1 on kept", "stage 2 on sent"])]
    style = ("body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#1e293b}"
             "table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid #e2e8f0;"
             "text-align:right}th{color:#64748b;font-weight:600}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_report(result: "CascadeResult", out_dir: str | Path, title: str = "Cascade") -> dict[str, Path]:
    """curve.png (when there is a curve) and report.html in ``out_dir``."""
    from judgelm.report.plots import to_data_uri

    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    uri = None
    if result.curve is not None:
        fig = curve_figure(result.curve, sent_share=len(result.sent) / max(1, len(result.order)), title=title)
        files["curve_png"] = out_dir / "curve.png"
        fig.savefig(files["curve_png"], bbox_inches="tight")
        uri = to_data_uri(fig)
    files["report"] = out_dir / "report.html"
    files["report"].write_text(render_html(result, uri, title), encoding="utf-8")
    return files


def _guarantee_sentence(g: dict[str, Any]) -> str:
    what = ("the final verdicts on every deployed sample" if g["on"] == "all"
            else "the verdicts on the samples some stage keeps (the rest is left undecided)")
    if not g["guaranteed"]:
        return (f"Agreement {_pct(g['alpha'])} could NOT be proven on the {g['n_calibration']} calibration samples; "
                "nothing is guaranteed. " + " ".join(g["notes"]))
    return (f"Guaranteed: agreement ≥ {_pct(g['alpha'])} on {what}, with probability ≥ {1 - g['delta']:.2f} "
            f"(delta {g['delta']}), calibrated on {g['n_calibration']} labelled samples with the "
            f"{g['confidence']} confidence (p = {g['p_value']:.4f}).")


def render_guarantee_html(result: Any, image_uri: str | None, title: str) -> str:
    """The guarantee, the plan with the coverage of each stage, the costs and what gold says."""
    summ = result.summary()
    g, cov, led = summ["guarantee"], summ["coverage"], summ["ledger"]
    ev = summ.get("evaluation", {})
    rows = []
    for c, sp in zip(cov, g["stages"]):
        ag = next((x["agreement"] for x in ev.get("stages", []) if x["stage"] == c["stage"]), None)
        rows.append([str(c["stage"]), c["judge"], "" if c["threshold"] is None else f"{c['threshold']:.4f}",
                     f"{sp['calib_coverage']:.1%}", str(c["received"]), str(c["kept"]), _pct(c["coverage"]), _pct(ag)])
    cost_rows = [[str(s["stage"]), s["judge"], str(s["samples"]), str(s["calls"]), f"${s['usd']:.4f}",
                  f"{s['wall_s']:.1f}s", "recorded" if s["recorded"] else "live"] for s in led["stages"]]
    cal_rows = [[str(s["stage"]), s["judge"], str(s["samples"]), str(s["calls"]), f"${s['usd']:.4f}",
                 f"{s['wall_s']:.1f}s", "recorded" if s["recorded"] else "live"] for s in led["calibration"]]
    alone = led["strong_alone"]
    parts = [f"<h1>{html.escape(title)}</h1>", f"<p><b>{html.escape(_guarantee_sentence(g))}</b></p>",
             "<h2>Escalation plan (deployed samples)</h2>",
             _table(rows, ["stage", "judge", "threshold", "kept on calibration", "received", "kept", "coverage",
                           "agreement on kept"]),
             f"<p>Undecided: {summ['undecided']} of {summ['deployed']}.</p>",
             "<h2>Cost</h2>", _table(cost_rows, ["stage", "judge", "samples", "calls", "USD", "time", "source"]),
             f"<p>The strong judge on every deployed sample would take {alone['calls']:.0f} calls, ${alone['usd']:.4f}: "
             f"the cascade saves {alone['calls_saved']:.0f} calls ({alone['share_saved']:.1%} of its samples), "
             f"${alone['usd_saved']:.4f}.</p>",
             "<h3>Calibration (every stage on every calibration sample)</h3>",
             _table(cal_rows, ["stage", "judge", "samples", "calls", "USD", "time", "source"])]
    if ev:
        met = ev["guarantee_met"]
        parts += [f"<h2>Against gold ({ev['n']} deployed samples)</h2>",
                  _table([["on what the guarantee covers", _pct(ev["agreement_covered"]), _pct(ev["coverage"])],
                          ["on every deployed sample", _pct(ev["agreement_all"]), "100.00%"]],
                         ["verdicts", "agreement", "coverage"]),
                  f"<p>Guarantee {'met' if met else 'missed' if met is False else 'not claimed'} on this run; "
                  f"escalated to the last stage: {_pct(ev['escalated_to_last'])}.</p>"]
    st = summ.get("study")
    if st:
        parts += ["<h2>Does it hold? Random calibration splits</h2>",
                  f"<p>{st['splits']} splits by prompt ({_pct(st['share'])} of the prompts calibrate, the rest is held "
                  f"back): failure rate <b>{_pct(st['failure_rate'])}</b> (must be ≤ {_pct(st['delta'])}), guarantee "
                  f"claimed on {_pct(st['claim_rate'])}; held-back agreement mean {_pct(st['agreement_mean'])}, "
                  f"escalated mean {_pct(st['escalated_mean'])}.</p>"]
    if result.curve is not None:
        if image_uri:
            parts.append(f'<img alt="agreement vs share escalated" src="{image_uri}">')
        crow = [[f"{100 * p.share:.0f}%", str(p.sent), _pct(p.agreement), _pct(p.kept_agreement), _pct(p.sent_agreement)]
                for p in result.curve.table]
        parts += ["<h2>Agreement vs. share escalated (deployed samples)</h2>",
                  _table(crow, ["escalated", "n", "agreement", "stage 1 on kept", "last stage on escalated"])]
    style = ("body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#1e293b}"
             "table{border-collapse:collapse;margin:1em 0}td,th{padding:4px 10px;border-bottom:1px solid #e2e8f0;"
             "text-align:right}th{color:#64748b;font-weight:600}img{max-width:100%}")
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{style}</style></head><body>{''.join(parts)}</body></html>")


def write_guarantee_report(result: Any, out_dir: str | Path, title: str) -> dict[str, Path]:
    """curve.png (two stages, recorded last stage) and report.html for a guaranteed run."""
    from judgelm.report.plots import to_data_uri

    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    uri = None
    if result.curve is not None:
        n = len(result.stage_of)
        share = sum(1 for v in result.stage_of.values() if v != 1) / max(1, n)
        fig = curve_figure(result.curve, sent_share=share, title=title)
        files["curve_png"] = out_dir / "curve.png"
        fig.savefig(files["curve_png"], bbox_inches="tight")
        uri = to_data_uri(fig)
    files["report"] = out_dir / "report.html"
    files["report"].write_text(render_guarantee_html(result, uri, title), encoding="utf-8")
    return files


def describe_guarantee(summary: dict[str, Any]) -> str:
    """What the command prints for a guaranteed run: the guarantee, the plan, the cost saved."""
    g = summary["guarantee"]
    lines = [_guarantee_sentence(g)]
    for c in summary["coverage"]:
        th = "keeps all it receives" if c["threshold"] is None and c["kept"] == c["received"] else (
            "keeps none" if c["threshold"] is None else f"keeps confidence ≥ {c['threshold']:.4f}")
        lines.append(f"  stage {c['stage']} {c['judge']}: received {c['received']}, kept {c['kept']} "
                     f"({100 * c['coverage']:.1f}% of {summary['deployed']}); {th}")
    if summary["undecided"]:
        lines.append(f"  undecided (no stage sure enough): {summary['undecided']}")
    a = summary["ledger"]["strong_alone"]
    lines.append(f"  cost: the strong judge alone would take ~{a['calls']:.0f} calls, ${a['usd']:.4f}; saved "
                 f"{a['calls_saved']:.0f} calls ({100 * a['share_saved']:.1f}%), ${a['usd_saved']:.4f}; calibration "
                 f"judged {summary['calibration']} samples with every stage")
    ev = summary.get("evaluation")
    if ev:
        met = ev["guarantee_met"]
        lines.append(f"  against gold on {ev['n']} deployed samples: agreement {100 * (ev['agreement_covered'] or 0):.2f}% "
                     f"on {100 * ev['coverage']:.1f}% covered ({'met' if met else 'MISSED' if met is False else 'no claim'}); "
                     f"on all {100 * ev['agreement_all']:.2f}%; escalated to the last stage {100 * ev['escalated_to_last']:.1f}%")
    return "\n".join(lines)


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
