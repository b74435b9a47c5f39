"""The reading judge (``--judge lm``): speed on the whole PandaLM test, and its figures on the five sets.

Speed (default): judges all 999 PandaLM test pairs in both orders (``--swap``) from a cold start
(no score cache), and reports the wall time, LM tokens/s and the share of the fp32 matmul peak
measured on the spot with the same thread count. FLOPs are counted by the scorer from the token lengths:
2 × decoder parameters per token run, the causal attention scores, and the vocabulary projection on
answer tokens only (the only positions it is computed at; a context runs once per batch of answers).

    .venv/bin/python benchmarks/bench_lm.py [--threads 2] [--json benchmarks/results/lm-speed.json]

Figures (``--eval DIR``): every labelled set judged with ``--swap`` (forced choice on LLMBar's
sets, which have no ties) and scored by ``judgelm eval --json`` — agreement next to the length
rule and the majority class on the same rows — beside mini's recorded figures; writes
``DIR/summary.json``. ``--cache-file`` keeps the LM scores between runs (the figures do not change):

    .venv/bin/python benchmarks/bench_lm.py --eval runs/lm-eval --cache-file .cache/lm/scores.jsonl
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench_lm")


def machine(threads: int) -> str:
    import torch

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.machine()} {cpu}, {os.cpu_count()} cores, {threads} torch threads, torch CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, load average {os.getloadavg()[0]:.1f} at start")


def speed(args: argparse.Namespace) -> dict:
    import torch

    from judgelm.engines.bench import cpu_matmul_peak_gflops
    from judgelm.engines.lm import LMEngine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings
    from judgelm.mini.evalsets import load_eval_set

    samples = load_eval_set("pandalm_test", Path(args.data))
    peak = cpu_matmul_peak_gflops(args.threads, dtype=torch.float32)
    t_load = time.perf_counter()
    engine = LMEngine(threads=args.threads)
    load_s = time.perf_counter() - t_load
    out = Path(args.out) / "pandalm_test.lm.jsonl"
    out.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    summary = run_judge(samples, engine, out, JudgeSettings(both_orders=True), resume=False, cache=False, progress=True)
    wall = time.perf_counter() - t0
    flops = engine.scorer.flops
    tokens = engine.scorer.tokens_scored
    res = {
        "judge": "lm (shipped head, SmolLM2-135M-Instruct float32)",
        "machine": machine(args.threads),
        "pairs": len(samples), "judgements": len(summary.judgements), "orders": 2,
        "distinct_scored": len(engine.scorer.cache), "lm_tokens": tokens, "padded_tokens": engine.scorer.padded_tokens,
        "load_s": round(load_s, 1), "wall_s": round(wall, 1),
        "tokens_per_s": round(tokens / wall, 1),
        "gflops_per_s": round(flops / wall / 1e9, 1), "fp32_peak_gflops": round(peak, 1),
        "share_of_peak": round(flops / wall / 1e9 / peak, 3),
        # the LM scorer alone (the rest of the wall: mini's encoder, tokenising requests, writing rows)
        "lm_s": round(engine.scorer.seconds, 1), "lm_tokens_per_s": round(tokens / engine.scorer.seconds, 1),
        "lm_share_of_peak": round(flops / engine.scorer.seconds / 1e9 / peak, 3),
        "goal_wall_s": 480, "goal_share": 0.5,
    }
    return res


def run_eval(args: argparse.Namespace) -> dict:
    from judgelm.engines.lm import LMEngine
    from judgelm.judging.runner import run_judge
    from judgelm.judging.settings import JudgeSettings
    from judgelm.mini.evalsets import EVAL_SETS, eval_set_path, load_eval_set

    out_dir = Path(args.eval)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = args.judge.partition(":")[2] if args.judge.startswith("lm:") else ""
    engines = {True: LMEngine(target, threads=args.threads, cache_file=args.cache_file or None)}
    engines[False] = LMEngine(target, threads=args.threads, ties=False, scorer=engines[True].scorer)
    mini = json.loads((REPO / "benchmarks/results/mini-eval-fp32.json").read_text())["sets"]
    figures = {}
    for name in EVAL_SETS:
        samples = load_eval_set(name, Path(args.data))
        has_ties = any(s.gold and s.gold.verdict == 0 for s in samples)
        pred = out_dir / f"{name}.jsonl"
        t0 = time.perf_counter()
        run_judge(samples, engines[has_ties], pred, JudgeSettings(both_orders=True), resume=False, cache=False,
                  progress=True)
        wall = time.perf_counter() - t0
        res = subprocess.run([sys.executable, "-m", "judgelm.cli", "eval", "--gold", str(eval_set_path(name, Path(args.data))),
                              "--pred", str(pred), "--json"], check=True, capture_output=True, text=True)
        s = json.loads(res.stdout)
        figures[name] = {"n": s["n"], "agreement": s["agreement"], "longer": s["baselines"]["longer"]["agreement"],
                         "majority": s["baselines"]["majority"]["agreement"], "mini": mini[name]["agreement"],
                         "consistency": s.get("consistency", {}).get("rate") if isinstance(s.get("consistency"), dict) else s.get("consistency"),
                         "forced_choice": not has_ties, "judge_wall_s": round(wall, 1)}
        (out_dir / f"{name}.eval.json").write_text(json.dumps(s, indent=2) + "\n", encoding="utf-8")
        log.warning("%s: lm %.4f  longer %.4f  mini %.4f", name, s["agreement"], figures[name]["longer"], figures[name]["mini"])
    sets = list(figures.values())
    mean = lambda k: sum(f[k] for f in sets) / len(sets)  # noqa: E731
    verdict = {
        "mean_lm": round(mean("agreement"), 4), "mean_mini": round(mean("mini"), 4), "mean_longer": round(mean("longer"), 4),
        "above_length_everywhere": all(f["agreement"] > f["longer"] for f in sets),
        "within_2_points_of_mini_everywhere": all(f["agreement"] >= f["mini"] - 0.02 for f in sets),
    }
    verdict["default_rule_met"] = bool(verdict["above_length_everywhere"] and verdict["within_2_points_of_mini_everywhere"]
                                       and verdict["mean_lm"] > verdict["mean_mini"])
    return {"judge": args.judge, "machine": machine(args.threads), "command": "benchmarks/bench_lm.py --eval DIR",
            "sets": figures, "default_rule": verdict}


NAMES = {"pandalm_test": "PandaLM test (999, 3-way)", "llmbar_natural": "LLMBar Natural (100)",
         "llmbar_faireval": "FairEval (66)", "llmbar_llmeval2": "LLMEval² (200)", "llmbar_mtbench": "MT-Bench (200)"}
CARD = REPO / "src/judgelm/assets/lm/MODEL_CARD.md"


def tables(eval_json: Path, speed_json: Path | None) -> str:
    """The model card's figure block, written from the result files (never typed by hand)."""
    ev = json.loads(eval_json.read_text(encoding="utf-8"))
    rows = ["| set | lm | mini | longer answer wins | majority class |", "|---|---|---|---|---|"]
    for name, f in ev["sets"].items():
        rows.append(f"| {NAMES.get(name, name)} | **{100 * f['agreement']:.1f}** | {100 * f['mini']:.1f} | "
                    f"{100 * f['longer']:.1f} | {100 * f['majority']:.1f} |")
    r = ev["default_rule"]
    rows.append(f"| mean of the five | **{100 * r['mean_lm']:.1f}** | {100 * r['mean_mini']:.1f} | {100 * r['mean_longer']:.1f} | |")
    rows.append("")
    rows.append(f"Default-judge rule (above the length rule on every set, within 2 points of mini on every set, higher "
                f"mean than mini): above length everywhere **{r['above_length_everywhere']}**, within 2 of mini "
                f"everywhere **{r['within_2_points_of_mini_everywhere']}**, met **{r['default_rule_met']}**. "
                f"Machine: {ev['machine']}.")
    if speed_json and speed_json.is_file():
        sp = json.loads(speed_json.read_text(encoding="utf-8"))
        rows += ["", f"Speed, whole PandaLM test in both orders from a cold start: **{sp['wall_s']:.0f} s** "
                 f"(goal ≤ {sp['goal_wall_s']} s; + {sp['load_s']:.0f} s loading), {sp['distinct_scored']} distinct "
                 f"(context, answer) scored, {sp['lm_tokens']} LM tokens, **{sp['tokens_per_s']:.0f} tokens/s**, "
                 f"{sp['gflops_per_s']:.0f} GFLOP/s = **{100 * sp['share_of_peak']:.0f}%** of the fp32 matmul peak "
                 f"measured on the spot ({sp['fp32_peak_gflops']:.0f} GFLOP/s)"
                 + (f"; the LM scorer alone: {sp['lm_s']:.0f} s, {sp['lm_tokens_per_s']:.0f} tokens/s, "
                    f"**{100 * sp['lm_share_of_peak']:.0f}%** of that peak (the rest of the wall: mini's encoder, "
                    f"tokenising, writing rows)" if "lm_s" in sp else "")
                 + f". Machine: {sp['machine']}."]
    return "\n".join(rows)


def bases_table(bases_json: Path) -> str:
    """Which base LM reads best: the recipe run once per base on the same teacher pairs and prompt split,
    the best candidate of each compared on the teacher validation split (no evaluation set read)."""
    res = json.loads(bases_json.read_text(encoding="utf-8"))
    rows = ["| base LM | best candidate | validation 2-way | validation 3-way | PMI alone, validation 2-way | "
            "teacher pairs (train + validation) |", "|---|---|---|---|---|---|"]
    for b in res["bases"]:
        rows.append(f"| {b['model']} | {' + '.join(b['features'])} (C {b['C']:g}) | **{100 * b['valid_2way']:.1f}** | "
                    f"{100 * b['valid_3way']:.1f} | {100 * b['pmi_only_valid_2way']:.1f} | {b['n_train']} + {b['n_valid']} |")
    rows += ["", res["note"]]
    return "\n".join(rows)


def selection_table(head_dir: Path) -> str:
    """The candidates compared on the teacher validation split, and the chosen head."""
    table = json.loads((head_dir / "selection.json").read_text(encoding="utf-8"))
    head = json.loads((head_dir / "head.json").read_text(encoding="utf-8"))
    rows = ["| features | C | train (2-way) | validation (2-way) | validation by source |", "|---|---|---|---|---|"]
    for r in table:
        chosen = r["features"] == head["features"] and r["C"] == head["meta"].get("C")
        src = ", ".join(f"{k} {100 * v:.1f}" for k, v in r["valid_by_source"].items())
        mark = "**" if chosen else ""
        rows.append(f"| {mark}{' + '.join(r['features'])}{mark} | {r['C']:g} | {100 * r['train_2way']:.1f} | "
                    f"{mark}{100 * r['valid_2way']:.1f}{mark} | {src} |")
    m = head["meta"]
    weights = ", ".join(f"{f} {w:+.3f}" for f, w in zip(head["features"], head["weights"]))
    rows += ["", f"Chosen (bold): weights on standardised features {weights}; tie margin {head['margin']:.4f} "
             f"(validation 3-way {100 * m.get('valid_3way_with_margin', float('nan')):.1f}); "
             f"{m.get('n_train_pairs')} + {m.get('n_valid_pairs')} teacher pairs; LM scores truncated at "
             f"{m.get('max_answer_tokens')} answer tokens, {m.get('dtype')}."]
    return "\n".join(rows)


def _replace(text: str, name: str, block: str) -> str:
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    a, b = text.index(start) + len(start), text.index(end)
    return text[:a] + "\n" + block + "\n" + text[b:]


def write_tables(eval_json: Path, speed_json: Path | None, card: Path = CARD) -> None:
    text = card.read_text(encoding="utf-8")
    text = _replace(text, "lm-selection", selection_table(card.parent))
    bases = REPO / "benchmarks/results/lm-bases.json"
    if bases.is_file():
        text = _replace(text, "lm-bases", bases_table(bases))
    if eval_json.is_file():
        block = tables(eval_json, speed_json)
        text = _replace(text, "lm-figures", block)
        readme = REPO / "README.md"
        readme.write_text(_replace(readme.read_text(encoding="utf-8"), "lm-figures", block), encoding="utf-8")
    card.write_text(text, encoding="utf-8")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="runs/lm-speed")
    ap.add_argument("--eval", help="judge + score the five labelled sets, writing into this directory")
    ap.add_argument("--judge", default="lm")
    ap.add_argument("--cache-file", default="")
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--tables", action="store_true", help="write the model card's and the README's figures from "
                    "benchmarks/results/lm-eval.json and lm-speed.json, then exit")
    args = ap.parse_args()
    if args.tables:
        write_tables(REPO / "benchmarks/results/lm-eval.json", REPO / "benchmarks/results/lm-speed.json")
        return
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
    res = run_eval(args) if args.eval else speed(args)
    text = json.dumps(res, indent=2)
    print(text)
    if args.eval:
        (Path(args.eval) / "summary.json").write_text(text + "\n", encoding="utf-8")
    if args.json:
        Path(args.json).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
