"""The ranking's outputs: ranking.json, ratings.csv, wtl.csv, the figures and the HTML page.

Figures: ratings with intervals; win-rate heat map (when models met each other, not only a
baseline); with a baseline, win rates against it with ±1.96 SE error bars and LC vs raw win rate;
with a reference, the judge's ranks against the reference's.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from judgelm.rank.agreement import Agreement
from judgelm.rank.win_rates import Leaderboard
from judgelm.rank.ratings import Ranking, short
from judgelm.report.figure_style import (
    ACCENT,
    INK,
    MUTED,
    legend_outside,
    new_figure,
    save_png,
    style_axes,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

BEST, OTHER, LC = ACCENT, "#94a3b8", "#0891b2"


def heatmap_figure(r: Ranking) -> Figure | None:
    """Row model's win rate against the column model (ties = ½), models in rating order; hidden
    models (the baseline) only as columns. None when no two ranked models met."""
    order = r.order()
    cols = order + [r.models.index(m) for m in r.hidden]
    games = r.wtl["wins"] + r.wtl["ties"] + r.wtl["losses"]
    if not games[np.ix_(order, order)].any():
        return None
    rate = r.wtl["win_rate"][np.ix_(order, cols)]
    g = games[np.ix_(order, cols)]
    fig = new_figure(1.0 + 0.6 * len(cols), 0.8 + 0.45 * len(order))
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(rate), cmap="RdBu", vmin=0, vmax=1, aspect="auto")
    if len(cols) <= 20:
        for i in range(len(order)):
            for j in range(len(cols)):
                if g[i, j]:
                    ax.text(j, i, f"{100 * rate[i, j]:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(rate[i, j] - 0.5) > 0.3 else INK)
    ax.set_xticks(range(len(cols)), [short(r.models[k]) for k in cols], rotation=60, ha="right", fontsize=7)
    ax.set_yticks(range(len(order)), [short(r.models[k]) for k in order], fontsize=7)
    ax.set_title("win rate of row vs. column (%)", fontsize=10, loc="left")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def ratings_figure(r: Ranking) -> Figure:
    """Bradley–Terry ratings with bootstrap intervals; the best level highlighted."""
    order = r.order()[::-1]
    best = set(r.best)
    fig = new_figure(7.0, 0.9 + 0.22 * len(order))
    ax = fig.subplots()
    for y, k in enumerate(order):
        lo, hi = r.intervals[k]
        c = BEST if r.models[k] in best else OTHER
        ax.plot([lo, hi], [y, y], color=c, lw=2)
        ax.plot([r.ratings[k]], [y], "o", color=c, ms=4)
    ax.set_yticks(range(len(order)), [short(r.models[k]) for k in order], fontsize=7)
    ax.set_xlabel("rating (Bradley–Terry, Elo scale) with 95% bootstrap interval", fontsize=8)
    ax.axvline(1000, color=MUTED, lw=0.8, ls=":")
    style_axes(ax, grid="x")
    fig.tight_layout()
    return fig


def win_rate_figure(lb: Leaderboard) -> Figure:
    """Win rate against the baseline with ±1.96 standard errors; LC win rate as a second mark."""
    rows = [x for x in lb.rows if x.model != lb.baseline and x.n_total][::-1]
    fig = new_figure(7.5, 1.0 + 0.22 * len(rows))
    ax = fig.subplots()
    y = np.arange(len(rows))
    ax.barh(y, [x.win_rate for x in rows], xerr=[1.96 * x.standard_error for x in rows], color=BEST, alpha=0.8,
            height=0.7, error_kw={"elinewidth": 0.8, "ecolor": INK, "capsize": 1.5}, label="win rate ± 1.96 SE")
    lc = [(i, x.lc_win_rate) for i, x in enumerate(rows) if x.lc_win_rate is not None]
    if lc:
        ax.plot([v for _, v in lc], [i for i, _ in lc], "D", color=LC, ms=3.5, label="length-controlled")
    ax.axvline(50, color=MUTED, lw=0.8, ls=":")
    ax.set_yticks(y, [short(x.model) for x in rows], fontsize=7)
    ax.set_xlim(0, 100)
    ax.set_xlabel(f"% of prompts won against {lb.baseline} (draws = ½)", fontsize=8)
    style_axes(ax, grid="x")
    legend_outside(ax, where="below")
    fig.tight_layout()
    return fig


def lc_scatter_figure(lb: Leaderboard) -> Figure | None:
    """LC against raw win rate, dot size ∝ average length: points below the diagonal won by length."""
    rows = [x for x in lb.rows if x.model != lb.baseline and x.lc_win_rate is not None]
    if not rows:
        return None
    fig = new_figure(6.0, 5.2)
    ax = fig.subplots()
    lens = np.array([x.avg_length for x in rows], dtype=float)
    sizes = 12 + 60 * lens / max(lens.max(), 1.0)
    sc = ax.scatter([x.win_rate for x in rows], [x.lc_win_rate for x in rows], s=sizes, c=lens, cmap="viridis",
                    alpha=0.85, edgecolors="white", linewidths=0.5)
    ax.plot([0, 100], [0, 100], color=MUTED, lw=0.8, ls=":")
    gap = sorted(rows, key=lambda x: x.lc_win_rate - x.win_rate)  # type: ignore[operator]
    for x in gap[:4] + gap[-2:]:
        ax.annotate(short(x.model, 24), (x.win_rate, x.lc_win_rate), fontsize=6.5, color=INK, xytext=(3, -8),
                    textcoords="offset points")
    ax.set_xlabel("win rate (%)", fontsize=8)
    ax.set_ylabel("length-controlled win rate (%)", fontsize=8)
    fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04).set_label("average answer length (chars)", fontsize=7)
    style_axes(ax)
    fig.tight_layout()
    return fig


def agreement_figure(a: Agreement) -> Figure:
    """The judge's rank of each model against the reference's (1 = best), with ρ and τ."""
    from scipy.stats import rankdata

    js, rs = np.array(a.judge_scores), np.array(a.reference_scores)
    ok = np.isfinite(js) & np.isfinite(rs)
    jr, rr = rankdata(-js[ok]), rankdata(-rs[ok])
    names = [m for m, keep in zip(a.models, ok) if keep]
    fig = new_figure(5.6, 5.4)
    ax = fig.subplots()
    top = rr <= a.top_k
    ax.scatter(rr[~top], jr[~top], s=16, color=OTHER, label="others")
    ax.scatter(rr[top], jr[top], s=22, color=BEST, label=f"reference top {a.top_k}")
    n = len(names)
    ax.plot([1, n], [1, n], color=MUTED, lw=0.8, ls=":")
    far = np.argsort(-np.abs(jr - rr))[:5]
    for n_label, i in enumerate(far):  # alternate above / below so neighbouring labels do not overprint
        ax.annotate(short(names[i], 24), (rr[i], jr[i]), fontsize=6.5, xytext=(3, 4 if n_label % 2 else -9),
                    textcoords="offset points")
    ax.invert_xaxis()
    ax.invert_yaxis()
    ax.set_xlabel(f"rank by {a.reference}", fontsize=8)
    ax.set_ylabel("rank by the judge", fontsize=8)
    ax.set_title(f"Spearman ρ {a.spearman:.2f} [{a.spearman_ci[0]:.2f}, {a.spearman_ci[1]:.2f}] · "
                 f"Kendall τ {a.kendall:.2f} [{a.kendall_ci[0]:.2f}, {a.kendall_ci[1]:.2f}]", fontsize=8, loc="left")
    style_axes(ax)
    legend_outside(ax, where="right")
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------- tables


def _f(x: float | None, fmt: str = "{:.2f}") -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else fmt.format(x)


def table_rows(r: Ranking, lb: Leaderboard | None) -> list[dict[str, Any]]:
    """One row per ranked model: Bradley–Terry columns, and AlpacaEval's columns when a baseline
    is set (``win_rate`` then means against the baseline, in %; otherwise the share of points
    against every opponent, in %)."""
    level_of = {m: k for k, ms in enumerate(r.levels) for m in ms}
    by_model = {x.model: x for x in lb.rows} if lb else {}
    out = []
    for k in r.order():
        m = r.models[k]
        w, t, l = (int(r.wtl[x][k].sum()) for x in ("wins", "ties", "losses"))
        row: dict[str, Any] = {"model": m, "rating": float(r.ratings[k]), "ci_low": float(r.intervals[k][0]),
                               "ci_high": float(r.intervals[k][1]), "level": level_of.get(m), "wins": w, "ties": t,
                               "losses": l, "win_rate": 100.0 * (w + 0.5 * t) / max(1, w + t + l),
                               "standard_error": None, "lc_win_rate": None, "lc_standard_error": None,
                               "avg_length": None, "n_wins": None, "n_wins_base": None, "n_draws": None,
                               "n_total": None}
        x = by_model.get(m)
        if x is not None:
            row.update(win_rate=x.win_rate, standard_error=x.standard_error, lc_win_rate=x.lc_win_rate,
                       lc_standard_error=x.lc_standard_error, avg_length=x.avg_length, n_wins=x.n_wins,
                       n_wins_base=x.n_wins_base, n_draws=x.n_draws, n_total=x.n_total)
        out.append(row)
    if lb:
        rank_of = {x.model: i for i, x in enumerate(lb.rows)}
        out.sort(key=lambda row: rank_of.get(row["model"], len(rank_of)))
    return out


CSV_COLUMNS = ["model", "win_rate", "standard_error", "lc_win_rate", "lc_standard_error", "n_wins", "n_wins_base",
               "n_draws", "n_total", "avg_length", "rating", "ci_low", "ci_high", "level", "wins", "ties", "losses"]


def format_leaderboard(lb: Leaderboard) -> str:
    """The leaderboard as aligned text (what the command prints)."""
    width = max(len(short(x.model)) for x in lb.rows)
    lines = [f"win rates against {lb.baseline} (AlpacaEval: draws = 1/2, unparsed left out; LC = length-controlled)",
             (f"{'model':<{width}}  {'win_rate':>8}  {'s.e.':>5}  {'LC':>6}  {'wins':>5} {'draws':>5} {'total':>5}  "
             f"{'avg_len':>7}")]
    for x in lb.rows:
        lines.append(f"{short(x.model):<{width}}  {_f(x.win_rate):>8}  {_f(x.standard_error):>5}  {_f(x.lc_win_rate):>6}  "
                     f"{x.n_wins:5d} {x.n_draws:5d} {x.n_total:5d}  {x.avg_length:7d}")
    return "\n".join(lines)


def _html_table(rows: list[dict[str, Any]], has_board: bool, best: set[str]) -> str:
    """The ratings / leaderboard table as a real HTML table (shared page style)."""
    from judgelm.report.page_style import table

    if has_board:
        cols = [("model", "model", "{}"), ("win_rate", "win rate %", "{:.2f}"), ("standard_error", "s.e.", "{:.2f}"),
                ("lc_win_rate", "LC win rate %", "{:.2f}"), ("n_wins", "wins", "{}"), ("n_draws", "draws", "{}"),
                ("n_total", "total", "{}"), ("avg_length", "avg length", "{}"), ("rating", "BT rating", "{:.1f}"),
                ("ci_low", "95% low", "{:.1f}"), ("ci_high", "95% high", "{:.1f}"), ("level", "level", "{}")]
    else:
        cols = [("model", "model", "{}"), ("rating", "BT rating", "{:.1f}"), ("ci_low", "95% low", "{:.1f}"),
                ("ci_high", "95% high", "{:.1f}"), ("wins", "W", "{}"), ("ties", "T", "{}"), ("losses", "L", "{}"),
                ("win_rate", "points %", "{:.1f}"), ("level", "level", "{}")]
    body = [[_f(row.get(key), fmt) for key, _, fmt in cols] for row in rows]
    classes = ["best" if row["model"] in best else "" for row in rows]
    return table([label for _, label, _ in cols], body, row_classes=classes)


def write_report(r: Ranking, out_dir: str | Path, *, title: str = "Ranking", leaderboard: Leaderboard | None = None,
                 agreement: Agreement | None = None) -> dict[str, Path]:
    """The figures as PNG files and one self-contained report.html (table + inline figures)."""
    from judgelm.report.figure_style import to_data_uri
    from judgelm.report.page_style import chip, definitions, esc, figure, grid, page, panel

    out = Path(out_dir)
    files: dict[str, Path] = {"report": out / "report.html"}
    figs: dict[str, Figure | None] = {"ratings_png": ratings_figure(r), "heatmap": heatmap_figure(r)}
    if leaderboard is not None:
        figs["win_rates_png"] = win_rate_figure(leaderboard)
        figs["lc_png"] = lc_scatter_figure(leaderboard)
    if agreement is not None:
        figs["agreement_png"] = agreement_figure(agreement)
    names = {"ratings_png": "ratings.png", "heatmap": "heatmap.png", "win_rates_png": "win_rates.png",
             "lc_png": "lc_vs_raw.png", "agreement_png": "agreement.png"}
    uris: dict[str, str | None] = {}
    for key, fig in figs.items():
        uris[key] = None
        if fig is None:
            continue
        files[key] = save_png(fig, out / names[key])
        uris[key] = to_data_uri(fig)

    table_note = ("Bradley–Terry rating (Elo scale) with its 95% bootstrap interval over prompts; level 0 = "
                  "nobody separably better.")
    if leaderboard:
        table_note = (f"Win rate against <code>{esc(leaderboard.baseline)}</code> as AlpacaEval computes it "
                      "(draws = ½, unparsed left out) with its standard error; LC = length-controlled. " + table_note)
    sections = [panel("Leaderboard" if leaderboard else "Ratings",
                      _html_table(table_rows(r, leaderboard), leaderboard is not None, set(r.best)), table_note,
                      wide=True)]
    if agreement is not None:
        rows = [("Spearman ρ", agreement.spearman, agreement.spearman_ci),
                ("Kendall τ", agreement.kendall, agreement.kendall_ci),
                (f"top-{agreement.top_k} overlap", agreement.top_k_overlap, agreement.top_k_ci)]
        from judgelm.report.page_style import table

        tbl = table(["figure", "value", "95% low", "95% high"],
                    [[name, f"{v:.3f}", f"{ci[0]:.3f}", f"{ci[1]:.3f}"] for name, v, ci in rows])
        sections.append(panel("Rank agreement", tbl,
                              f"The judge's ranking of {len(agreement.models)} models (by {agreement.score}) against "
                              f"{esc(agreement.reference)} on {agreement.n_prompts} prompts; intervals: "
                              f"{agreement.n_boot} bootstrap resamples of prompts (paired when the reference is "
                              "computed on the same prompts)."))
        sections.append(figure("Ranks, judge vs. reference", uris.get("agreement_png"),
                               "Each dot a model; on the diagonal the two rankings agree."))
    sections += [
        figure("Win rates", uris.get("win_rates_png"), "Bars: win rate ± 1.96 s.e.; diamonds: length-controlled."),
        figure("Length-controlled vs raw", uris.get("lc_png"),
               "Below the diagonal: part of the raw win came from longer answers."),
        figure("Ratings", uris.get("ratings_png"), "Highlighted: the best level (not separable from each other)."),
        figure("Head to head", uris.get("heatmap"), "Row model's share of points against the column model.", wide=True),
    ]
    chips = [chip(f"{r.n_games} games"), chip(f"{r.n_prompts} prompts"),
             chip(f"{r.n_boot} bootstrap resamples, seed {r.seed}")]
    if r.hidden:
        chips.append(chip(f"baseline (not ranked): {', '.join(r.hidden)}"))
    if r.stats.get("no_verdict"):
        chips.append(chip(f"{r.stats['no_verdict']} pairs without a verdict left out", warn=True))
    terms = [("Game", ("One pair judged on one prompt; each presentation order with a verdict counts half "
                      "(win 1, tie ½, loss 0).")),
             ("Bradley–Terry", ("P(i beats j) = σ(βᵢ − βⱼ), ties as half wins, N(0, prior) on β; rating = "
                               "1000 + 400/ln 10 · (β − mean β).")),
             ("Partial order", "a above b when a's 95% interval lies wholly above b's; level = longest chain above.")]
    if leaderboard:
        terms += [("Win rate", ("AlpacaEval: 100 · mean share of wins against the baseline (draw ½), null "
                               "preferences left out; s.e. = sample s.d. / √n.")),
                  ("LC win rate", esc(leaderboard.lc_method) + ". See docs/ranking.md.")]
    stats = ", ".join(f"{k} {v}" for k, v in r.stats.items())
    files["report"].write_text(page(title, grid(*[x for x in sections if x]), kind="rank", subtitle=stats,
                                    chips=chips, footer=definitions(terms)), encoding="utf-8")
    return files


def write_outputs(r: Ranking, out_dir: str | Path, *, title: str = "Ranking", leaderboard: Leaderboard | None = None,
                  agreement: Agreement | None = None) -> dict[str, str]:
    """ranking.json, ratings.csv, wtl.csv, the figures and report.html."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"ranking": out / "ranking.json", "ratings_csv": out / "ratings.csv", "wtl_csv": out / "wtl.csv"}
    d = r.to_dict()
    if leaderboard is not None:
        d["leaderboard"] = leaderboard.to_dict()
    if agreement is not None:
        d["agreement"] = agreement.to_dict()
    files["ranking"].write_text(json.dumps(d, indent=2, default=float), encoding="utf-8")
    with open(files["ratings_csv"], "w", newline="", encoding="utf-8") as fh:
        wr = csv.DictWriter(fh, fieldnames=CSV_COLUMNS, extrasaction="ignore")
        wr.writeheader()
        for row in table_rows(r, leaderboard):
            wr.writerow({k: ("" if v is None else (f"{v:.4f}" if isinstance(v, float) else v)) for k, v in row.items()})
    with open(files["wtl_csv"], "w", newline="", encoding="utf-8") as fh:
        wr2 = csv.writer(fh)
        wr2.writerow(["model", "opponent", "wins", "ties", "losses"])
        for i, a in enumerate(r.models):
            for j, b in enumerate(r.models):
                n = r.wtl["wins"][i, j] + r.wtl["ties"][i, j] + r.wtl["losses"][i, j]
                if i != j and n:
                    wr2.writerow([a, b, r.wtl["wins"][i, j], r.wtl["ties"][i, j], r.wtl["losses"][i, j]])
    files.update(write_report(r, out, title=title, leaderboard=leaderboard, agreement=agreement))
    return {k: str(v) for k, v in files.items()}
