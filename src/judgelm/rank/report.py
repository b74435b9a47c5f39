"""The ranking's figures (win-rate heat map, ratings with intervals) and its HTML page."""

from __future__ import annotations

import html
from pathlib import Path
from typing import TYPE_CHECKING

from judgelm.rank.ratings import Ranking, format_ranking

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INK, MUTED, BEST, OTHER = "#1e293b", "#64748b", "#4f46e5", "#94a3b8"


def _figure(w: float, h: float) -> "Figure":
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(w, h), dpi=110)


def heatmap_figure(r: "Ranking") -> "Figure":
    """Row model's win rate against the column model (ties = ½), models in rating order."""
    import numpy as np

    order = r.order()
    names = [r.models[k] for k in order]
    rate = r.wtl["win_rate"][np.ix_(order, order)]
    games = (r.wtl["wins"] + r.wtl["ties"] + r.wtl["losses"])[np.ix_(order, order)]
    n = len(names)
    fig = _figure(1.0 + 0.75 * n, 0.8 + 0.6 * n)
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(rate), cmap="RdBu", vmin=0, vmax=1)
    for i in range(n):
        for j in range(n):
            if i != j and games[i, j]:
                ax.text(j, i, f"{100 * rate[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if abs(rate[i, j] - 0.5) > 0.3 else INK)
    ax.set_xticks(range(n), names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), names, fontsize=8)
    ax.set_title("win rate of row vs. column (%)", fontsize=10, loc="left")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    fig.tight_layout()
    return fig


def ratings_figure(r: "Ranking") -> "Figure":
    """Bradley–Terry ratings with bootstrap intervals; the best level highlighted."""
    order = r.order()[::-1]
    names = [r.models[k] for k in order]
    best = set(r.best)
    fig = _figure(7.0, 0.9 + 0.35 * len(names))
    ax = fig.subplots()
    for y, k in enumerate(order):
        lo, hi = r.intervals[k]
        c = BEST if r.models[k] in best else OTHER
        ax.plot([lo, hi], [y, y], color=c, lw=2)
        ax.plot([r.ratings[k]], [y], "o", color=c)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.set_xlabel("rating (Bradley–Terry, Elo scale) with 95% bootstrap interval")
    ax.axvline(1000, color=MUTED, lw=0.8, ls=":")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", alpha=0.25)
    fig.tight_layout()
    return fig


def write_report(r: "Ranking", out_dir: str | Path, title: str = "Ranking") -> dict[str, Path]:
    from judgelm.report.plots import to_data_uri

    out = Path(out_dir)
    files = {"heatmap": out / "heatmap.png", "ratings_png": out / "ratings.png", "report": out / "report.html"}
    heat, rat = heatmap_figure(r), ratings_figure(r)
    heat.savefig(files["heatmap"], bbox_inches="tight")
    rat.savefig(files["ratings_png"], bbox_inches="tight")
    stats = ", ".join(f"{k} {v}" for k, v in r.stats.items())
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#1e293b}"
        "pre{background:#f8fafc;padding:1em;overflow-x:auto}img{max-width:100%}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f"<p>{r.n_games} games on {r.n_prompts} prompts ({html.escape(stats)}); intervals: {r.n_boot} bootstrap "
        f"resamples of prompts, seed {r.seed}.</p>"
        f"<pre>{html.escape(format_ranking(r))}</pre>"
        f"<h2>Ratings</h2><img alt='ratings' src='{to_data_uri(rat)}'>"
        f"<h2>Win rates</h2><img alt='win-rate heat map' src='{to_data_uri(heat)}'>"
        "</body></html>"
    )
    files["report"].write_text(page, encoding="utf-8")
    return files


def write_outputs(r: Ranking, out_dir: str | Path, *, title: str = "Ranking") -> dict[str, str]:
    """ranking.json, ratings.csv, wtl.csv, heatmap.png, ratings.png and report.html."""
    import csv
    import json

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {"ranking": out / "ranking.json", "ratings_csv": out / "ratings.csv", "wtl_csv": out / "wtl.csv"}
    d = r.to_dict()
    files["ranking"].write_text(json.dumps(d, indent=2), encoding="utf-8")
    with open(files["ratings_csv"], "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["model", "rating", "ci_low", "ci_high", "wins", "ties", "losses", "win_rate"])
        for row in d["models"]:
            wr.writerow([row["model"], f"{row['rating']:.2f}", f"{row['ci'][0]:.2f}", f"{row['ci'][1]:.2f}",
                         row["wins"], row["ties"], row["losses"], f"{row['win_rate']:.4f}"])
    with open(files["wtl_csv"], "w", newline="", encoding="utf-8") as fh:
        wr = csv.writer(fh)
        wr.writerow(["model", "opponent", "wins", "ties", "losses"])
        for i, a in enumerate(r.models):
            for j, b in enumerate(r.models):
                n = r.wtl["wins"][i, j] + r.wtl["ties"][i, j] + r.wtl["losses"][i, j]
                if i != j and n:
                    wr.writerow([a, b, r.wtl["wins"][i, j], r.wtl["ties"][i, j], r.wtl["losses"][i, j]])
    files.update(write_report(r, out, title=title))
    return {k: str(v) for k, v in files.items()}
