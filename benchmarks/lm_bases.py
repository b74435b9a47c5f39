"""Which base LM the reading judge reads with: one recipe run per base (the same teacher pairs, the same
prompt split, candidates without the expert prompt) -> ``benchmarks/results/lm-bases.json``.

    .venv/bin/python -m judgelm.reading.recipe --no-expert --model smollm2-135m-instruct --out runs/lm-smol
    .venv/bin/python -m judgelm.reading.recipe --no-expert --model gemma-3-270m --out runs/lm-gemma \\
        --cache-file .cache/lm/teacher-gemma.jsonl
    .venv/bin/python benchmarks/lm_bases.py runs/lm-smol runs/lm-gemma --note "..."
    .venv/bin/python benchmarks/bench_lm.py --tables        # the model card's table

Only teacher validation figures: the base is chosen like the head, never on an evaluation set.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def summarise(run: Path) -> dict:
    """A recipe run's head and selection table -> one row of the comparison."""
    head = json.loads((run / "head.json").read_text(encoding="utf-8"))
    table = json.loads((run / "selection.json").read_text(encoding="utf-8"))
    meta = head["meta"]
    pmi_only = max((r["valid_2way"] for r in table if r["features"] == ["pmi"]), default=float("nan"))
    return {"model": meta["model"], "run": str(run), "features": head["features"], "C": meta["C"],
            "valid_2way": meta["valid_2way"], "valid_3way": meta["valid_3way_with_margin"],
            "pmi_only_valid_2way": pmi_only, "n_train": meta["n_train_pairs"], "n_valid": meta["n_valid_pairs"],
            "dtype": meta["dtype"], "max_answer_tokens": meta["max_answer_tokens"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", help="recipe output folders (head.json + selection.json)")
    ap.add_argument("--note", default="", help="what else was measured (cost, machine)")
    ap.add_argument("--json", default=str(REPO / "benchmarks/results/lm-bases.json"))
    a = ap.parse_args()
    rows = [summarise(Path(r)) for r in a.runs]
    Path(a.json).write_text(json.dumps({"bases": rows, "note": a.note}, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
