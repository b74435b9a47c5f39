"""The report of a guaranteed cascade run (:mod:`judgelm.cascade.guaranteed_run`), in the shared
report style: what is guaranteed, the escalation plan with each stage's coverage, the cost saved
against the strong judge alone, what gold says on the deployed samples, the split study, and the
agreement-vs-escalated curve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.cascade.report import LEDGER_HEAD, curve_figure, curve_table, ledger_rows
from judgelm.report.figure_style import save_png, to_data_uri
from judgelm.report.page_style import (
    card,
    cards,
    chip,
    definitions,
    esc,
    figure,
    grid,
    page,
    panel,
    pct,
    table,
)


def _pct(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.2f}%"


def guarantee_sentence(g: dict[str, Any]) -> str:
    """The guarantee in words (or why there is none)."""
    what = ("the final verdicts on every deployed sample" if g["on"] == "all"
            else "the verdicts on the samples some stage keeps (the rest is left undecided)")
    if not g["guaranteed"]:
        return (f"Agreement {_pct(g['alpha'])} could NOT be proven on the {g['n_calibration']} calibration samples; "
                "nothing is guaranteed. " + " ".join(g["notes"]))
    return (f"Guaranteed: agreement ≥ {_pct(g['alpha'])} on {what}, with probability ≥ {1 - g['delta']:.2f} "
            f"(delta {g['delta']}), calibrated on {g['n_calibration']} labelled samples with the "
            f"{g['confidence']} confidence (p = {g['p_value']:.4f}).")


def render_guarantee_html(result: Any, image_uri: str | None, title: str) -> str:
    """The whole page for a :class:`judgelm.cascade.results.GuaranteedResult`."""
    summ = result.summary()
    g, cov, led = summ["guarantee"], summ["coverage"], summ["ledger"]
    ev = summ.get("evaluation", {})
    alone = led["strong_alone"]
    head = [card("guaranteed agreement", f"{pct(g['alpha'])}<small>%</small>" if g["guaranteed"] else "none",
                 f"with probability ≥ {1 - g['delta']:.2f}, on {'every sample' if g['on'] == 'all' else 'kept samples'}"),
            (card("escalated to the last stage", f"{pct(cov[-1]['kept'] / max(1, summ['deployed']))}<small>%</small>",
                  f"{cov[-1]['kept']} of {summ['deployed']} deployed") if g["on"] == "all" else
             card("left undecided", f"{pct(summ['undecided'] / max(1, summ['deployed']))}<small>%</small>",
                  f"{summ['undecided']} of {summ['deployed']} deployed: no stage sure enough")),
            card("strong-judge calls saved", f"{alone['calls_saved']:.0f}",
                 f"{pct(alone['share_saved'])}% of ~{alone['calls']:.0f}; ${alone['usd_saved']:.4f}")]
    if ev and ev.get("agreement_covered") is not None:
        met = ev["guarantee_met"]
        head.append(card("agreement reached", f"{pct(ev['agreement_covered'])}<small>%</small>",
                         f"on {ev['covered']} of {ev['n']} labelled deployed samples; "
                         + ("met" if met else "MISSED" if met is False else "no claim")))
    rows = []
    for c, sp in zip(cov, g["stages"]):
        ag = next((x["agreement"] for x in ev.get("stages", []) if x["stage"] == c["stage"]), None)
        rows.append([str(c["stage"]), c["judge"], "–" if c["threshold"] is None else f"{c['threshold']:.4f}",
                     _pct(sp["calib_coverage"]), str(c["received"]), str(c["kept"]), _pct(c["coverage"]), _pct(ag)])
    sections = [
        panel("Escalation plan (deployed samples)",
              table(["stage", "judge", "threshold", "kept on calibration", "received", "kept", "coverage",
                     "agreement on kept"], rows),
              f"Undecided: {summ['undecided']} of {summ['deployed']}. {esc(' '.join(g['notes']))}", wide=True),
        panel("Cost (deployed samples)", table(LEDGER_HEAD, ledger_rows(led["stages"])),
              f"The strong judge on every deployed sample: ~{alone['calls']:.0f} calls, ${alone['usd']:.4f}.", wide=True),
        panel("Cost of calibrating", table(LEDGER_HEAD, ledger_rows(led["calibration"])),
              "Every stage judges every calibration sample once; the plan can then be reused.", wide=True),
    ]
    if ev:
        sections.append(panel(f"Against gold ({ev['n']} deployed samples)", table(
            ["verdicts", "agreement", "coverage"],
            [["what the guarantee covers", _pct(ev["agreement_covered"]), _pct(ev["coverage"])],
             ["every deployed sample", _pct(ev["agreement_all"]), "100.00%"]]
            + [[f"stage {k[5:-6]} alone", _pct(v), "100.00%"] for k, v in ev.items()
               if k.startswith("stage") and k.endswith("_alone")])))
    st = summ.get("study")
    if st:
        sections.append(panel("Does it hold? Random calibration splits", table(
            ["measure", "value"],
            [["splits by prompt", f"{st['splits']} ({_pct(st['share'])} of the prompts calibrate)"],
             ["failure rate (claimed and missed on the held-back part)", f"{_pct(st['failure_rate'])} (delta {st['delta']})"],
             ["guarantee claimed", _pct(st["claim_rate"])],
             ["held-back agreement, mean", _pct(st["agreement_mean"])],
             ["escalated to the last stage, mean", _pct(st["escalated_mean"])]])))
    if result.curve is not None:
        sections.append(figure("Agreement vs. share escalated", image_uri))
        sections.append(panel("Agreement vs. share escalated (table)",
                              curve_table(result.curve, "last stage on escalated"), wide=True))
    foot = definitions([
        ("guarantee", esc(guarantee_sentence(g))),
        ("fixed-sequence testing", ("thresholds are tested in an order fixed before looking at labels; the last "
                                    "one proven before the first failure is used (docs/cascade.md)")),
        ("coverage", "share of the deployed samples a stage decides"),
    ])
    chips = [chip(f"{summ['deployed']} deployed"), chip(f"{summ['calibration']} calibration"),
             chip(f"delta {g['delta']}"), chip(f"{g['test']} test")]
    if not g["guaranteed"]:
        chips.append(chip("not proven", warn=True))
    return page(title, cards(head) + grid(*sections), kind="cascade", subtitle=guarantee_sentence(g),
                chips=chips, footer=foot)


def write_guarantee_report(result: Any, out_dir: str | Path, title: str) -> dict[str, Path]:
    """curve.png (two stages, recorded last stage) and report.html for a guaranteed run."""
    out_dir = Path(out_dir)
    files: dict[str, Path] = {}
    uri = None
    if result.curve is not None:
        n = len(result.stage_of)
        share = sum(1 for v in result.stage_of.values() if v != 1) / max(1, n)
        fig = curve_figure(result.curve, sent_share=share, xlabel="share of samples escalated (%)")
        files["curve_png"] = save_png(fig, out_dir / "curve.png")
        uri = to_data_uri(fig)
    files["report"] = out_dir / "report.html"
    files["report"].write_text(render_guarantee_html(result, uri, title), encoding="utf-8")
    return files


def describe_guarantee(summary: dict[str, Any]) -> str:
    """What the command prints for a guaranteed run: the guarantee, the plan, the cost saved."""
    g = summary["guarantee"]
    lines = [guarantee_sentence(g)]
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
        covered = (f"agreement {100 * ev['agreement_covered']:.2f}% on the {100 * ev['coverage']:.1f}% covered"
                   if ev["agreement_covered"] is not None else "nothing covered")
        lines.append(f"  against gold on {ev['n']} deployed samples: {covered} "
                     f"({'met' if met else 'MISSED' if met is False else 'no claim'}); on all "
                     f"{100 * ev['agreement_all']:.2f}%; escalated to the last stage or undecided "
                     f"{100 * ev['escalated_to_last']:.1f}%")
    return "\n".join(lines)


