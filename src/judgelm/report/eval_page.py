"""The evaluation report's page (``judgelm eval --report``): one self-contained HTML page (inline CSS and PNGs).

Headline numbers come first, each next to the trivial baselines on the same rows, then the
figures; definitions and the unparsed/missing counts are always stated. The page style is the
shared one of :mod:`judgelm.report.page_style`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelm.report import eval_figures
from judgelm.report.page_style import (
    card,
    cards,
    chip,
    definitions,
    dot,
    esc,
    figure,
    grid,
    page,
    panel,
    table,
)
from judgelm.report.page_style import pct as _pct

if TYPE_CHECKING:
    from judgelm.evaluation.verdicts import Evaluation

logger = logging.getLogger(__name__)


def _vs(value: float, baseline: float, name: str) -> str:
    d = 100 * (value - baseline)
    cls = "up" if d >= 0 else "down"
    return f'<span class="{cls}">{d:+.1f}</span> vs {esc(name)} ({_pct(baseline)})'


def _comparison_table(s: dict[str, Any]) -> str:
    majority = s["baselines"]["majority"]
    rows = [("judge", s, eval_figures.JUDGE, "best")]
    if "pandalm_rule" in s:
        rows.append(("PandaLM two-run rule", s["pandalm_rule"], eval_figures.COMBINED, ""))
    if "swapped_run" in s:
        rows.append(("judge, swapped order only", {**s["swapped_run"], "n": s.get("n_swap", "")}, eval_figures.COMBINED, ""))
    rows += [
        ("longer answer wins", s["baselines"]["longer"], eval_figures.LONGER, ""),
        (f"majority class ({'tie' if majority['verdict'] == 0 else majority['verdict']})", majority, eval_figures.MAJORITY, ""),
    ]
    cells = [[dot(color) + esc(name), *(_pct(r[k]) for k in ("agreement", "precision", "recall", "f1")),
              f"{r['kappa']:.3f}", esc(r.get("n", s["n"]))] for name, r, color, _ in rows]
    return table(["predictor", "agreement", "precision", "recall", "F1", "κ", "n"], cells,
                 row_classes=[cls for *_, cls in rows], raw=True)


def _per_class_table(s: dict[str, Any]) -> str:
    rows = [[c, _pct(v["precision"]), _pct(v["recall"]), _pct(v["f1"]), v["support"]] for c, v in s["per_class"].items()]
    return table(["class", "precision", "recall", "F1", "gold support"], rows)


def _chips(s: dict[str, Any], policy: str) -> list[str]:
    chips = [
        chip(f"{s['n']} rows evaluated"),
        chip(f"gold: {s['gold']}") if s.get("gold") else "",
        chip(f"unparsed: {s['unparsed_count']} ({_pct(s['unparsed'])}%), {policy}"),
        chip(f"{s['n_gold_dropped']} gold rows without label dropped") if s["n_gold_dropped"] else "",
    ]
    if s["missing"]:
        chips.append(chip(f"{s['missing']} gold rows have no prediction", warn=True))
    if s.get("extra"):
        chips.append(chip(f"{s['extra']} predictions match no gold row", warn=True))
    if s.get("swapped_missing"):
        chips.append(chip(f"{s['swapped_missing']} rows lack a swapped-order prediction", warn=True))
    return [c for c in chips if c]


def _cards(s: dict[str, Any], policy: str) -> list[str]:
    base, ci = s["baselines"], s["ci"]
    out = [
        card("Agreement", f"{_pct(s['agreement'])}<small>%</small>",
             f"95% CI {_pct(ci['agreement'][0])}–{_pct(ci['agreement'][1])}",
             [_vs(s["agreement"], base["longer"]["agreement"], "longer answer"),
              _vs(s["agreement"], base["majority"]["agreement"], "majority")]),
        card("Macro F1", f"{_pct(s['f1'])}<small>%</small>", f"95% CI {_pct(ci['f1'][0])}–{_pct(ci['f1'][1])}",
             [_vs(s["f1"], base["longer"]["f1"], "longer answer"), _vs(s["f1"], base["majority"]["f1"], "majority")]),
        card("Cohen's κ", f"{s['kappa']:.3f}", f"precision {_pct(s['precision'])} · recall {_pct(s['recall'])}"),
        card("Unparsed",
             f"{s['unparsed_count']}<small> / {s['n'] + (s['unparsed_count'] if s['unparsed_policy'] == 'drop' else 0)}"
             "</small>", f"{_pct(s['unparsed'])}% of outputs · {policy}"),
    ]
    if "consistency" in s:
        out.append(card("Consistency", f"{_pct(s['consistency'])}<small>%</small>",
                        f"bias → first {_pct(s['bias_first'])} · → second {_pct(s['bias_second'])}",
                        [f"Δ bias {_pct(s['delta_bias'])} pts · {s['n_swap']} pairs"]))
    if "pandalm_rule" in s:
        out.append(card("Two-run rule", f"{_pct(s['pandalm_rule']['agreement'])}<small>%</small>",
                        f"macro F1 {_pct(s['pandalm_rule']['f1'])}",
                        [_vs(s["pandalm_rule"]["agreement"], s["agreement"], "single run")]))
    return out


def render_html(evaluation: Evaluation, title: str | None = None) -> str:
    """The full report page as a string (self-contained: no external CSS, JS or images)."""
    s = evaluation.summary
    title = title or f"Judge evaluation — {s['judge']}"
    policy = {"tie": "counted as ties (published convention)", "drop": "left out",
              "wrong": "counted as wrong"}[s["unparsed_policy"]]
    rows = evaluation.rows
    figures = grid(
        figure("Judge vs. baselines", eval_figures.headline_bars(s),
               "Same rows for every predictor. Error bars: 95% bootstrap interval of the judge.", wide=True),
        figure("Confusion matrix", eval_figures.confusion_heatmap(s), "Rows: gold verdict. Colour: share of the gold row."),
        figure("Verdict distribution", eval_figures.verdict_distribution(s), "How often each verdict is given."),
        figure("Position bias", eval_figures.position_bias(s, rows),
               "Verdicts mapped back to the original answer order; inconsistent pairs split by the position they "
               "lean to.", wide=True),
        figure("Score distributions", eval_figures.score_distribution(rows),
               "Scores the judge gave, and the margin between the two answers by gold verdict.", wide=True),
        panel(f"All predictors on the same {s['n']} rows", _comparison_table(s), wide=True),
        figure("Confidence calibration", eval_figures.reliability_curve(s),
               "Accuracy of the judge's verdicts per confidence bin; the diagonal is perfect calibration."),
        panel("Per class (judge)", _per_class_table(s)),
    )
    ci = s["ci"]
    footer = definitions([
        ("Agreement", "Accuracy of the 3-way verdict (answer 1 / answer 2 / tie) against gold."),
        ("Precision, recall, F1", f"Macro averages over the classes {', '.join(esc(x) for x in s['per_class'])}."),
        ("95% CI", f"Percentile bootstrap over rows ({ci['n_boot']} resamples, seed {ci['seed']})."),
        ("Consistency, bias", ("Same verdict after swapping the answers; bias → first/second: share of pairs "
                               "whose two verdicts disagree and lean to the answer shown first/second; "
                               "Δ bias = |first − second|.")),
        ("Baselines", 'Majority gold class, and "the longer answer wins" (characters; equal length → tie).'),
    ])
    return page(title, cards(_cards(s, policy)) + figures, kind="eval", subtitle=str(s.get("pred", "")),
                chips=_chips(s, policy), footer=footer)


def write_report(evaluation: Evaluation, out_dir: str | Path, title: str | None = None) -> Path:
    """Write ``out_dir/index.html`` and return its path."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "index.html"
    path.write_text(render_html(evaluation, title), encoding="utf-8")
    logger.info("report written to %s", path)
    return path
