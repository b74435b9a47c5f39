"""Write the smol judge's figure and speed tables from ``bench_smol.py``'s ``summary.json``.

The README and the model card quote the same two blocks (between ``<!-- smol-figures:start -->`` /
``<!-- smol-speed:start -->`` markers and their ``:end``); writing them from the measured summary
keeps both equal to what was measured, and makes the card reproducible with two commands:

    PYTHONPATH=src .venv/bin/python benchmarks/bench_smol.py --out out/smol-eval --judge smol:runs/smol --threads 2
    .venv/bin/python benchmarks/smol_tables.py out/smol-eval/summary.json [--write README.md ...]

Without ``--write`` the blocks are printed.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CARD = REPO / "docs" / "smol-model-card.md"
NAMES = {
    "pandalm_test": "PandaLM test (3-way)",
    "llmbar_natural": "LLMBar Natural",
    "llmbar_faireval": "LLMBar FairEval",
    "llmbar_llmeval2": "LLMBar LLMEval²",
    "llmbar_mtbench": "LLMBar MT-Bench",
}


def _pct(x: float | None, digits: int = 1) -> str:
    return "–" if x is None else f"{100 * x:.{digits}f}"


def figures_table(summary: dict) -> str:
    """One row per set: the judge, its one-order readings, the baselines on the same rows."""
    head = ("| set (never trained on) | n (of) | smol (balanced) | forced choice | one order: original / swapped "
            "| longer answer wins | majority | consistency (balanced / one order) | first position wins (one order) "
            "| below the length rule? |\n|---|---|---|---|---|---|---|---|---|---|")
    rows = [head]
    for key, name in NAMES.items():
        ev = summary.get(key)
        if not ev:
            continue
        base = ev.get("baselines", {})
        longer = base.get("longer", {}).get("agreement")
        one = ev.get("one_order_unbalanced", {})
        of = ev.get("speed", {}).get("subset_of") or ev.get("n_gold")
        below = longer is not None and ev["agreement"] < longer
        rows.append(
            f"| {name} | {ev['n']} ({of}) | {_pct(ev['agreement'])} | {_pct(ev.get('forced_choice', {}).get('agreement'))} "
            f"| {_pct(one.get('agreement_original_order'))} / {_pct(one.get('agreement_swapped_order'))} "
            f"| {_pct(longer)} | {_pct(base.get('majority', {}).get('agreement'))} "
            f"| {_pct(ev.get('consistency'), 0)}% / {_pct(one.get('consistency'))}% "
            f"| {_pct(one.get('first_position_wins'))}% | {'**yes**' if below else 'no'} |"
        )
    return "\n".join(rows)


def speed_lines(summary: dict) -> str:
    """Requests/s, prefill tokens and the share of the matmul peak measured alongside, per set."""
    out = []
    for key, name in NAMES.items():
        sp = (summary.get(key) or {}).get("speed")
        if not sp:
            continue
        t = sp["threads"]
        load = sp.get("load_average") or [None]
        peak = sp.get("matmul_peak_gflops", sp.get("bf16_peak_gflops"))  # older summaries: bf16 only
        dtype = sp.get("peak_dtype", "bfloat16")
        out.append(
            f"- {name}: {sp['requests']} requests in {sp['wall_s']:.0f} s ({sp['requests_per_s']:.3f}/s, "
            f"{sp['prefill_tokens']:,} prefill tokens), {sp['model_gflops']} GFLOP/s = "
            f"{_pct(sp['share_of_peak_model'], 0)}% of the {peak} GFLOP/s {t}-thread {dtype} peak "
            f"measured alongside (load average {load[0]:.1f})"
        )
    return "\n".join(out)


def replace_block(text: str, marker: str, body: str) -> str:
    """``text`` with the lines between ``<!-- marker:start -->`` and ``<!-- marker:end -->`` replaced."""
    pat = re.compile(rf"(<!-- {marker}:start -->\n)(.*?)(<!-- {marker}:end -->)", re.S)
    if not pat.search(text):
        raise ValueError(f"no <!-- {marker}:start --> ... <!-- {marker}:end --> block")
    return pat.sub(lambda m: m.group(1) + body + "\n" + m.group(3), text, count=1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("summary", type=Path)
    ap.add_argument("--write", nargs="*", type=Path, default=None,
                    help="files whose marked blocks are rewritten (no value: the README and the model card)")
    args = ap.parse_args()
    summary = json.loads(args.summary.read_text(encoding="utf-8"))
    blocks = {"smol-figures": figures_table(summary), "smol-speed": speed_lines(summary)}
    if args.write is None:
        for body in blocks.values():
            print(body + "\n")
        return
    for path in args.write or [REPO / "README.md", CARD]:
        text = path.read_text(encoding="utf-8")
        for marker, body in blocks.items():
            if f"<!-- {marker}:start -->" in text:
                text = replace_block(text, marker, body)
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
