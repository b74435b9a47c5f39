"""Assemble the evaluation report: one self-contained HTML page (inline CSS and PNGs).

Headline numbers come first, each next to the trivial baselines on the same rows, then the
figures; definitions and the unparsed/missing counts are always stated.
"""

from __future__ import annotations

import html
import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelm.report import plots

if TYPE_CHECKING:
    from judgelm.evaluation.evaluate import Evaluation

logger = logging.getLogger(__name__)

CSS = """
:root { --ink:#1e293b; --muted:#64748b; --line:#e2e8f0; --bg:#f8fafc; --card:#fff; --accent:#4f46e5;
        --good:#059669; --bad:#e11d48; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
       font:15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header { background:linear-gradient(120deg,#312e81,#4f46e5 60%,#0891b2); color:#fff; padding:28px 40px 24px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; letter-spacing:-0.01em; }
header .sub { opacity:.85; font-size:13.5px; }
header .chips { margin-top:12px; display:flex; flex-wrap:wrap; gap:8px; }
.chip { background:rgba(255,255,255,.16); border-radius:999px; padding:3px 11px; font-size:12.5px; }
.chip.warn { background:#fde68a; color:#78350f; }
main { max-width:1180px; margin:0 auto; padding:26px 32px 40px; }
.cards { display:grid; grid-template-columns:repeat(auto-fit,minmax(170px,1fr)); gap:14px; margin-bottom:22px; }
.card { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:16px 18px;
        box-shadow:0 1px 2px rgba(15,23,42,.04); }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.06em; }
.card .value { font-size:32px; font-weight:700; letter-spacing:-0.02em; margin:2px 0; }
.card .value small { font-size:15px; font-weight:500; color:var(--muted); }
.card .ci { color:var(--muted); font-size:12.5px; }
.card .vs { font-size:12.5px; margin-top:6px; }
.up { color:var(--good); font-weight:600; } .down { color:var(--bad); font-weight:600; }
.grid { display:grid; grid-template-columns:repeat(auto-fit,minmax(460px,1fr)); gap:16px; }
.panel { background:var(--card); border:1px solid var(--line); border-radius:14px; padding:16px 18px 12px; }
.panel.wide { grid-column:1 / -1; }
.panel h2 { font-size:15px; margin:0 0 2px; }
.panel p.note { color:var(--muted); font-size:12.5px; margin:0 0 8px; }
.panel img { width:100%; height:auto; display:block; }
table { border-collapse:collapse; width:100%; font-size:13.5px; font-variant-numeric:tabular-nums; }
th, td { padding:6px 10px; border-bottom:1px solid var(--line); text-align:right; }
th:first-child, td:first-child { text-align:left; }
th { color:var(--muted); font-weight:600; font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
tr.judge td { font-weight:650; }
.dot { display:inline-block; width:9px; height:9px; border-radius:50%; margin-right:7px; }
footer { color:var(--muted); font-size:12.5px; max-width:1180px; margin:0 auto; padding:0 32px 32px; }
footer dt { font-weight:600; color:var(--ink); } footer dd { margin:0 0 6px; }
"""


def _pct(x: float) -> str:
    return f"{100 * x:.1f}"


def _e(x: Any) -> str:
    return html.escape(str(x))


def _vs(value: float, baseline: float, name: str) -> str:
    d = 100 * (value - baseline)
    cls = "up" if d >= 0 else "down"
    return f'<span class="{cls}">{d:+.1f}</span> vs {name} ({_pct(baseline)})'


def _card(label: str, value: str, ci: str = "", vs: list[str] | None = None) -> str:
    vs_html = "".join(f'<div class="vs">{v}</div>' for v in (vs or []))
    ci_html = f'<div class="ci">{ci}</div>' if ci else ""
    return (f'<div class="card"><div class="label">{_e(label)}</div><div class="value">{value}</div>'
            f"{ci_html}{vs_html}</div>")


def _panel(title: str, img: str | None, note: str = "", wide: bool = False) -> str:
    if img is None:
        return ""
    alt = _e(title)
    return (f'<section class="panel{" wide" if wide else ""}"><h2>{alt}</h2>'
            f'{f"<p class=note>{note}</p>" if note else ""}<img alt="{alt}" src="{img}"></section>')


def _comparison_table(s: dict[str, Any]) -> str:
    rows = [("judge", s, plots.JUDGE, "judge")]
    if "pandalm_rule" in s:
        rows.append(("PandaLM two-run rule", s["pandalm_rule"], plots.COMBINED, ""))
    if "swapped_run" in s:
        rows.append(("judge, swapped order only", {**s["swapped_run"], "n": s.get("n_swap", "")}, plots.COMBINED, ""))
    rows += [
        ("longer answer wins", s["baselines"]["longer"], plots.LONGER, ""),
        (f"majority class ({'tie' if s['baselines']['majority']['verdict'] == 0 else s['baselines']['majority']['verdict']})",
         s["baselines"]["majority"], plots.MAJORITY, ""),
    ]
    body = "".join(
        f'<tr class="{cls}"><td><span class="dot" style="background:{color}"></span>{_e(name)}</td>'
        + "".join(f"<td>{_pct(r[k])}</td>" for k in ("agreement", "precision", "recall", "f1"))
        + f"<td>{r['kappa']:.3f}</td><td>{_e(r.get('n', s['n']))}</td></tr>"
        for name, r, color, cls in rows
    )
    return ("<table><thead><tr><th>predictor</th><th>agreement</th><th>precision</th><th>recall</th>"
            "<th>F1</th><th>κ</th><th>n</th></tr></thead><tbody>" + body + "</tbody></table>")


def _per_class_table(s: dict[str, Any]) -> str:
    body = "".join(
        f"<tr><td>{_e(c)}</td><td>{_pct(v['precision'])}</td><td>{_pct(v['recall'])}</td>"
        f"<td>{_pct(v['f1'])}</td><td>{v['support']}</td></tr>"
        for c, v in s["per_class"].items()
    )
    return ("<table><thead><tr><th>class</th><th>precision</th><th>recall</th><th>F1</th><th>gold support</th>"
            "</tr></thead><tbody>" + body + "</tbody></table>")


def render_html(evaluation: "Evaluation", title: str | None = None) -> str:
    """The full report page as a string (self-contained: no external CSS, JS or images)."""
    s = evaluation.summary
    base = s["baselines"]
    title = title or f"Judge evaluation — {s['judge']}"
    policy_note = {"tie": "counted as ties (published convention)", "drop": "left out", "wrong": "counted as wrong"}
    chips = [
        f"{s['n']} rows evaluated",
        f"gold: {_e(s.get('gold', ''))}" if s.get("gold") else "",
        f"unparsed: {s['unparsed_count']} ({_pct(s['unparsed'])}%), {policy_note[s['unparsed_policy']]}",
        f"{s['n_gold_dropped']} gold rows without label dropped" if s["n_gold_dropped"] else "",
    ]
    warn = []
    if s["missing"]:
        warn.append(f"{s['missing']} gold rows have no prediction")
    if s.get("extra"):
        warn.append(f"{s['extra']} predictions match no gold row")
    if s.get("swapped_missing"):
        warn.append(f"{s['swapped_missing']} rows lack a swapped-order prediction")
    chip_html = "".join(f'<span class="chip">{c}</span>' for c in chips if c)
    chip_html += "".join(f'<span class="chip warn">⚠ {_e(w)}</span>' for w in warn)

    ci = s["ci"]
    cards = [
        _card("Agreement", f"{_pct(s['agreement'])}<small>%</small>",
              f"95% CI {_pct(ci['agreement'][0])}–{_pct(ci['agreement'][1])}",
              [_vs(s["agreement"], base["longer"]["agreement"], "longer answer"),
               _vs(s["agreement"], base["majority"]["agreement"], "majority")]),
        _card("Macro F1", f"{_pct(s['f1'])}<small>%</small>", f"95% CI {_pct(ci['f1'][0])}–{_pct(ci['f1'][1])}",
              [_vs(s["f1"], base["longer"]["f1"], "longer answer"), _vs(s["f1"], base["majority"]["f1"], "majority")]),
        _card("Cohen's κ", f"{s['kappa']:.3f}", f"precision {_pct(s['precision'])} · recall {_pct(s['recall'])}"),
        _card("Unparsed", f"{s['unparsed_count']}<small> / {s['n'] + (s['unparsed_count'] if s['unparsed_policy'] == 'drop' else 0)}</small>",
              f"{_pct(s['unparsed'])}% of outputs · {policy_note[s['unparsed_policy']]}"),
    ]
    if "consistency" in s:
        cards.append(_card("Consistency", f"{_pct(s['consistency'])}<small>%</small>",
                           f"bias → first {_pct(s['bias_first'])} · → second {_pct(s['bias_second'])}",
                           [f"Δ bias {_pct(s['delta_bias'])} pts · {s['n_swap']} pairs"]))
    if "pandalm_rule" in s:
        cards.append(_card("Two-run rule", f"{_pct(s['pandalm_rule']['agreement'])}<small>%</small>",
                           f"macro F1 {_pct(s['pandalm_rule']['f1'])}",
                           [_vs(s["pandalm_rule"]["agreement"], s["agreement"], "single run")]))

    rows = evaluation.rows
    panels = [
        _panel("Judge vs. baselines", plots.headline_bars(s),
               "Same rows for every predictor. Error bars: 95% bootstrap interval of the judge.", wide=True),
        _panel("Confusion matrix", plots.confusion_heatmap(s), "Rows: gold verdict. Colour: share of the gold row."),
        _panel("Verdict distribution", plots.verdict_distribution(s), "How often each verdict is given."),
        _panel("Position bias", plots.position_bias(s, rows),
               "Verdicts mapped back to the original answer order; inconsistent pairs split by the position they lean to.",
               wide=True),
        _panel("Score distributions", plots.score_distribution(rows),
               "Scores the judge gave, and the margin between the two answers by gold verdict.", wide=True),
        _panel("Confidence calibration", plots.reliability_curve(s),
               "Accuracy of the judge's verdicts per confidence bin; the diagonal is perfect calibration."),
    ]
    tables = (f'<section class="panel wide"><h2>All predictors on the same {s["n"]} rows</h2>'
              f"{_comparison_table(s)}</section>"
              f'<section class="panel"><h2>Per class (judge)</h2>{_per_class_table(s)}</section>')
    generated = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    footer = f"""<footer><dl>
<dt>Agreement</dt><dd>Accuracy of the 3-way verdict (answer 1 / answer 2 / tie) against gold.</dd>
<dt>Precision, recall, F1</dt><dd>Macro averages over the classes {', '.join(_e(x) for x in s['per_class'])}.</dd>
<dt>95% CI</dt><dd>Percentile bootstrap over rows ({ci['n_boot']} resamples, seed {ci['seed']}).</dd>
<dt>Consistency, bias</dt><dd>Same verdict after swapping the answers; bias → first/second: share of pairs whose two
verdicts disagree and lean to the answer shown first/second; Δ bias = |first − second|.</dd>
<dt>Baselines</dt><dd>Majority gold class, and "the longer answer wins" (characters; equal length → tie).</dd>
</dl><p>judgelm · generated {generated}</p></footer>"""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title><style>{CSS}</style></head>
<body><header><h1>{_e(title)}</h1>
<div class="sub">{_e(s.get('pred', ''))}</div><div class="chips">{chip_html}</div></header>
<main><div class="cards">{''.join(cards)}</div>
<div class="grid">{''.join(panels)}{tables}</div></main>{footer}</body></html>
"""


def write_report(evaluation: "Evaluation", out_dir: str | Path, title: str | None = None) -> Path:
    """Write ``out_dir/index.html`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(render_html(evaluation, title), encoding="utf-8")
    logger.info("report written to %s", path)
    return path
