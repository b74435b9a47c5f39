"""The evaluation report's figures (drawn for :mod:`judgelm.report.eval_page`), each returned as a base64 PNG data URI.

Every function takes the evaluation summary (and rows where per-sample data is needed) and
returns ``None`` when it has nothing to show (e.g. no scores, no swapped run). The figure style
(factory, axes, legends outside the data, PNG output) is the shared one of
:mod:`judgelm.report.figure_style`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from judgelm.report.figure_style import INK, MUTED, legend_outside, to_data_uri
from judgelm.report.figure_style import new_figure as _figure
from judgelm.report.figure_style import style_axes as _style

if TYPE_CHECKING:
    from judgelm.evaluation.verdicts import Row

__all__ = ["confusion_heatmap", "headline_bars", "position_bias", "reliability_curve", "score_distribution",
           "to_data_uri", "verdict_distribution"]

#: the report's palette (also used by the CSS)
JUDGE = "#4f46e5"
COMBINED = "#0891b2"
LONGER = "#f59e0b"
MAJORITY = "#94a3b8"
FIRST = "#e11d48"
SECOND = "#7c3aed"
OK = "#10b981"
CLASS_COLORS = {"tie": "#94a3b8", "1": "#4f46e5", "2": "#f97316"}


def headline_bars(summary: dict[str, Any]) -> str:
    """Agreement and macro F1 of the judge (95% CI) next to the trivial baselines."""
    entries = [("judge", summary, JUDGE)]
    if "pandalm_rule" in summary:
        entries.append(("two-run rule", summary["pandalm_rule"], COMBINED))
    entries += [
        ("longer answer", summary["baselines"]["longer"], LONGER),
        ("majority class", summary["baselines"]["majority"], MAJORITY),
    ]
    fig = _figure(10.0, 0.42 * len(entries) + 1.0)
    axes = fig.subplots(1, 2, sharey=True)
    for ax, key, title in zip(axes, ("agreement", "f1"), ("Agreement", "Macro F1")):
        names = [e[0] for e in entries][::-1]
        vals = [100 * e[1][key] for e in entries][::-1]
        colors = [e[2] for e in entries][::-1]
        bars = ax.barh(names, vals, color=colors, height=0.62)
        lo, hi = (100 * x for x in summary["ci"][key])
        judge_y = len(entries) - 1
        ax.errorbar([100 * summary[key]], [judge_y], xerr=[[100 * summary[key] - lo], [hi - 100 * summary[key]]],
                    fmt="none", ecolor=INK, capsize=4, lw=1.2)
        for k, (bar, v) in enumerate(zip(bars, vals)):
            x = (hi if k == judge_y else v) + 1.5
            ax.text(x, bar.get_y() + bar.get_height() / 2, f"{v:.1f}", va="center", fontsize=9, color=INK)
        ax.set_xlim(0, 100)
        ax.set_title(title, fontsize=11, loc="left")
        ax.axvline(100 * summary[key], color=JUDGE, lw=0.8, ls=":", alpha=0.6)
        _style(ax)
    fig.tight_layout()
    return to_data_uri(fig)


def confusion_heatmap(summary: dict[str, Any]) -> str:
    """Gold (rows) × predicted (columns): colour = share of the gold row, text = count."""
    import numpy as np

    conf = np.asarray(summary["confusion"], dtype=float)
    rows = [str(x) if x != 0 else "tie" for x in summary["labels"]]
    cols = summary["confusion_columns"]
    share = conf / np.maximum(conf.sum(axis=1, keepdims=True), 1)
    fig = _figure(1.2 * len(cols) + 1.6, 1.0 * len(rows) + 1.2)
    ax = fig.subplots()
    im = ax.imshow(share, cmap="Purples", vmin=0, vmax=1)
    for i in range(conf.shape[0]):
        for j in range(conf.shape[1]):
            dark = share[i, j] > 0.55
            ax.text(j, i, f"{int(conf[i, j])}\n{100 * share[i, j]:.0f}%", ha="center", va="center",
                    fontsize=9, color="white" if dark else INK, fontweight="bold" if i == j else "normal")
    ax.set_xticks(range(len(cols)), [f"pred {c}" for c in cols])
    ax.set_yticks(range(len(rows)), [f"gold {r}" for r in rows])
    ax.tick_params(length=0, colors=MUTED, labelsize=9)
    for s in ax.spines.values():
        s.set_visible(False)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="share of gold row").outline.set_visible(False)
    fig.tight_layout()
    return to_data_uri(fig)


def verdict_distribution(summary: dict[str, Any]) -> str:
    """How often gold and the judge pick each verdict (a judge that never says tie shows here)."""
    import numpy as np

    def rank(name: str) -> tuple[int, int]:
        return (0, 0) if name == "tie" else (2, 0) if name == "unparsed" else (1, int(name))

    classes = sorted({*summary["gold_distribution"], *summary["pred_distribution"]}, key=rank)
    gold = [summary["gold_distribution"].get(c, 0) for c in classes]
    pred = [summary["pred_distribution"].get(c, 0) for c in classes]
    x = np.arange(len(classes))
    fig = _figure(4.6, 2.8)
    ax = fig.subplots()
    ax.bar(x - 0.2, gold, 0.38, label="gold", color=MAJORITY)
    ax.bar(x + 0.2, pred, 0.38, label="judge", color=JUDGE)
    ax.set_xticks(x, classes)
    ax.set_ylabel("samples")
    ax.set_ylim(0, 1.08 * max(gold + pred))
    _style(ax, grid="y")
    legend_outside(ax, "below")
    fig.tight_layout()
    return to_data_uri(fig)


def score_distribution(rows: Sequence[Row]) -> str | None:
    """Scores given to answer 1 and 2, and the score margin split by gold verdict."""
    import numpy as np

    pairs = [r for r in rows if r.scores and len(r.scores) == 2]
    if not pairs:
        return None
    s = np.array([r.scores for r in pairs], dtype=float)
    fig = _figure(10.0, 2.9)
    left, right = fig.subplots(1, 2)
    lo, hi = np.floor(s.min()), np.ceil(s.max())
    bins = np.arange(lo - 0.5, hi + 1.5, 1.0) if hi - lo <= 20 else 20
    left.hist([s[:, 0], s[:, 1]], bins=bins, color=[CLASS_COLORS["1"], CLASS_COLORS["2"]],
              label=["answer 1", "answer 2"], rwidth=0.85)
    left.set_title("Scores", fontsize=11, loc="left")
    left.set_xlabel("score")
    margin = s[:, 0] - s[:, 1]
    mlo, mhi = np.floor(margin.min()), np.ceil(margin.max())
    mbins = np.arange(mlo - 0.5, mhi + 1.5, 1.0) if mhi - mlo <= 40 else 30
    for g in sorted({r.gold for r in pairs}):
        name = "tie" if g == 0 else str(g)
        sel = np.array([r.gold == g for r in pairs])
        right.hist(margin[sel], bins=mbins, histtype="stepfilled", alpha=0.45,
                   color=CLASS_COLORS.get(name, MUTED), label=f"gold {name}", edgecolor=CLASS_COLORS.get(name, MUTED))
    right.axvline(0, color=INK, lw=0.8, ls=":")
    right.set_title("Score margin (answer 1 − answer 2)", fontsize=11, loc="left")
    right.set_xlabel("margin")
    for ax in (left, right):
        _style(ax)
        legend_outside(ax, "below")
    fig.tight_layout()
    return to_data_uri(fig)


def position_bias(summary: dict[str, Any], rows: Sequence[Row]) -> str | None:
    """Consistency vs bias toward the first/second position, and which position wins per run."""
    import numpy as np

    if "consistency" not in summary:
        return None
    fig = _figure(10.0, 2.7)
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    parts = [("consistent", summary["consistency"], OK), ("bias → first", summary["bias_first"], FIRST),
             ("bias → second", summary["bias_second"], SECOND)]
    start = 0.0
    for name, v, c in parts:
        left.barh([0], [100 * v], left=start, color=c, height=0.8, label=f"{name} {100 * v:.1f}%")
        if v > 0.06:
            left.text(start + 50 * v, 0, f"{100 * v:.1f}", ha="center", va="center", color="white", fontsize=9)
        start += 100 * v
    left.set_xlim(0, 100)
    left.set_ylim(-0.9, 0.9)
    left.set_yticks([])
    left.set_title(f"Position consistency (Δ bias {100 * summary['delta_bias']:.1f} pts)", fontsize=11, loc="left")
    pairs = [r for r in rows if r.has_swapped]
    runs = {"original order": [r.pred for r in pairs], "swapped order": [r.swapped_pred for r in pairs]}
    cats = ["first", "second", "tie", "unparsed"]
    counts = []
    for name, verdicts in runs.items():
        swapped = name.startswith("swapped")
        c = [0, 0, 0, 0]
        for v in verdicts:
            if v is None:
                c[3] += 1
            elif v == 0:
                c[2] += 1
            else:
                c[0 if (v == 1) != swapped else 1] += 1
        counts.append(c)
    x = np.arange(len(cats))
    for k, (name, c) in enumerate(zip(runs, counts)):
        right.bar(x + (k - 0.5) * 0.38, c, 0.38, label=name, color=[JUDGE, COMBINED][k])
    right.set_xticks(x, cats)
    right.set_title("Position the verdict favours", fontsize=11, loc="left")
    _style(right, grid="y")
    for s in left.spines.values():
        s.set_visible(False)
    left.tick_params(colors=MUTED, labelsize=9)
    legend_outside(left, "below", ncol=3)
    legend_outside(right, "below")
    fig.tight_layout()
    return to_data_uri(fig)


def reliability_curve(summary: dict[str, Any]) -> str | None:
    """Accuracy per confidence bin against the diagonal of perfect calibration."""
    rel = summary.get("reliability")
    if not rel or not rel["bins"]:
        return None
    bins = rel["bins"]
    fig = _figure(4.6, 3.2)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], ls=":", color=MUTED, lw=1)
    ax.bar([(b["lo"] + b["hi"]) / 2 for b in bins], [b["n"] / rel["n"] for b in bins],
           width=[b["hi"] - b["lo"] for b in bins], color=MAJORITY, alpha=0.35, label="share of samples")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], marker="o", color=JUDGE, label="accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("confidence")
    ax.set_title(f"Reliability (ECE {rel['ece']:.3f})", fontsize=11, loc="left")
    _style(ax)
    legend_outside(ax, "below")
    fig.tight_layout()
    return to_data_uri(fig)
