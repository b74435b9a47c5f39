"""One ``judgelm rank`` run from inputs to results: read the inputs, find the baseline, build and
judge the pairs (or take recorded judgements / labels), and derive the leaderboard and the rank
agreement. The command only parses flags and prints; this module decides."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from judgelm.data.intake import Intake
from judgelm.schema import Judgement

if TYPE_CHECKING:
    import numpy as np

    from judgelm.rank.agreement import Agreement
    from judgelm.rank.win_rates import Duel, Leaderboard
    from judgelm.rank.games import Game
    from judgelm.rank.ratings import Ranking

logger = logging.getLogger(__name__)

#: judges pairs into a path: (pairs, path, spec, template=, swap=, no_cache=, options=) → judgements
JudgeFn = Callable[..., list[Judgement]]


@dataclass
class Run:
    """What the inputs and the chosen source of verdicts gave: games, and what the leaderboard and
    the reference need (duels against the baseline, the reference's games)."""

    games: list[Game] = field(default_factory=list)
    stats: dict[str, int] = field(default_factory=dict)
    baseline: str | None = None
    duels: list[Duel] = field(default_factory=list)
    ref_games: list[Game] | None = None  # the inputs' labels on the judged pairs
    ref_duels: list[Duel] | None = None
    ref_name: str = ""  # where the reference labels come from (Gold.source, e.g. alpaca_eval_gpt4)
    intake: Intake = field(default_factory=Intake)  # the inputs' reading record (rows skipped with --skip-bad)


def _announce_baseline(baseline: str | None, common: set[str] | None, known: list[str],
                       notify: Callable[[str], None]) -> str | None:
    """The explicit baseline, else the one model in every input pair (said out loud), else None."""
    if baseline is not None:
        if baseline not in known:
            raise ValueError(f"--baseline {baseline!r}: no such model in the inputs; known: {', '.join(known)}")
        return baseline
    if common and len(common) == 1:
        found = next(iter(common))
        notify(f"{found} answers in every input pair: it is the baseline (not ranked; --include-baseline "
               "to rank it too)")
        return found
    return None


def collect(inputs: list[str], out: Path, *, judge_fn: JudgeFn, notify: Callable[[str], None],
            chosen: list[str] | None, judge: str | None, judgements: str | None, from_labels: bool, baseline: str | None, all_pairs: bool, max_prompts: int | None,
             sample_prompts: int | None, pairs_per_prompt: int | None, questions: str | None, seed: int,
             template: str, swap: bool, no_cache: bool, reference: str | None, options: dict[str, Any],
             skip_bad: bool = False) -> Run:
    """Read the inputs, settle the baseline, and get the games: from the labels, from recorded
    judgements of the pairs, or by judging the pairs (written to ``out``) with ``judge_fn``."""
    from judgelm.data import write_samples
    from judgelm.data.intake import read_inputs
    from judgelm.rank.win_rates import duels_from_games, duels_from_labels
    from judgelm.rank.games import games_from_judgements, games_from_labels
    from judgelm.rank.pairs import build_pairs, load_answer_table

    run = Run()
    if from_labels:
        run.intake = read_inputs(inputs, skip_bad=skip_bad)
        samples = list(run.intake.samples)
        if chosen:
            samples = [s for s in samples if {a.model for a in s.answers} <= set(chosen)]
        names = [{str(a.model) for a in s.answers} for s in samples]
        common = set.intersection(*names) if names else None
        run.baseline = _announce_baseline(baseline, common, sorted(set().union(*names)) if names else [], notify)
        run.games, run.stats = games_from_labels(samples)
        if run.baseline:
            run.duels = duels_from_labels(samples, run.baseline)
        return run

    table = load_answer_table(inputs, questions=questions, rejects=run.intake.rejects if skip_bad else None)
    logger.info("answers per model: %s", table.coverage())
    if table.labelled and not judge and not judgements:
        raise ValueError(
            f"{table.labelled} of the {table.samples} input pairs carry their own labels "
            f"({', '.join(sorted(table.label_sources))}): say what to rank from — --from-labels to use them, or "
            "--judge SPEC (e.g. --judge mini) to judge the answers again")
    run.baseline = _announce_baseline(baseline, table.in_every_sample, table.models, notify)
    design_baseline = run.baseline if run.baseline and not all_pairs and pairs_per_prompt is None else None
    pairs = build_pairs(table, models=chosen, max_prompts=max_prompts, sample_prompts=sample_prompts,
                        pairs_per_prompt=pairs_per_prompt, baseline=design_baseline, seed=seed)
    write_samples(pairs, out / "pairs.jsonl")
    if judgements:
        from judgelm.data.predictions import read_predictions

        js = read_predictions(judgements)
    else:
        js = judge_fn(pairs, out / "judgements.jsonl", judge, template=template, swap=swap, no_cache=no_cache,
                      options=options)
    run.games, run.stats = games_from_judgements(pairs, js)
    if run.stats["missing"]:
        logger.warning("%d of %d pairs have no judgement", run.stats["missing"], run.stats["pairs"])
    if run.baseline:
        run.duels = duels_from_games(pairs, run.games, run.baseline)
    if reference == "labels":
        judged = {(g.prompt, g.a, g.b) for g in run.games}
        done = [p for p in pairs if (str(p.metadata.get("prompt_id")), *(str(a.model) for a in p.answers)) in judged]
        run.ref_games, run.ref_duels, run.ref_name = _labels_of_pairs(inputs, done, run.baseline, skip_bad)
    return run


def _labels_of_pairs(inputs: list[str], pairs: list[Any], baseline: str | None, skip_bad: bool = False
                     ) -> tuple[list[Game], list[Duel] | None, str]:
    """The inputs' own labels of exactly the (prompt, model pair)s in ``pairs`` (the judged ones)."""
    from judgelm.rank.win_rates import duels_from_labels
    from judgelm.rank.games import games_from_labels
    from judgelm.rank.pairs import prompt_entry

    judged = {(str(p.metadata.get("prompt_id")), *sorted(str(a.model) for a in p.answers)) for p in pairs}
    from judgelm.data.intake import read_inputs

    labelled = [s for s in read_inputs(inputs, skip_bad=skip_bad).samples
                if (prompt_entry(s).id, *sorted(str(a.model) for a in s.answers)) in judged]
    if not any(s.gold is not None and s.gold.verdict is not None for s in labelled):
        raise ValueError("--reference labels: the inputs carry no labels for the judged pairs")
    games, _ = games_from_labels(labelled)
    sources = sorted({s.gold.source for s in labelled if s.gold is not None and s.gold.source})
    return games, (duels_from_labels(labelled, baseline) if baseline else None), ", ".join(sources)


def build_leaderboard(run: Run, *, include_baseline: bool, lc: bool) -> Leaderboard | None:
    """AlpacaEval's leaderboard (with LC win rates when ``lc``) when the run has a baseline."""
    if not run.baseline:
        return None
    from judgelm.rank.win_rates import leaderboard
    from judgelm.rank.length_controlled import add_length_controlled

    if not any(d.score is not None for d in run.duels):
        raise ValueError(f"no verdict on any pair against the baseline {run.baseline!r}")
    board = leaderboard(run.duels, run.baseline, include_baseline=include_baseline)
    if lc:
        add_length_controlled(board, run.duels)
    return board


def build_agreement(run: Run, ranking: Ranking, board: Leaderboard | None, reference: str | None, *, top_k: int,
                    n_boot: int, seed: int, prior: float) -> Agreement | None:
    """Agreement of the run's ranking with ``reference`` ('labels' or a ratings.csv), or None."""
    if reference is None:
        return None
    from judgelm.rank.agreement import fixed_scorer, rank_agreement, win_rate_scorer
    from judgelm.rank.win_rates import per_prompt_scores
    from judgelm.rank.ratings import rating_scorer

    models = [ranking.models[k] for k in ranking.order()]
    score = "win_rate" if board else "rating"
    if reference == "labels":
        if board:
            prompts, s = per_prompt_scores(run.duels, models)
            ref = _align(run.ref_duels or [], models, prompts)  # the reference on the judge's prompt columns
            judge_f, ref_f = win_rate_scorer(s), win_rate_scorer(ref)
        else:
            prompts = list(dict.fromkeys(g.prompt for g in run.games))
            judge_f = rating_scorer(run.games, ranking.models, prompts, prior=prior)
            ref_f = rating_scorer(run.ref_games, ranking.models, prompts, prior=prior)
            keep = [ranking.models.index(m) for m in models]
            jf, rf = judge_f, ref_f
            judge_f, ref_f = (lambda c: jf(c)[keep]), (lambda c: rf(c)[keep])
        return rank_agreement(models, judge_f, ref_f, len(prompts), reference_name=f"labels ({run.ref_name})" if run.ref_name else "the inputs' labels", score=score,
                              top_k=top_k, n_boot=n_boot, seed=seed)
    values = _read_reference(reference, score, models)
    if board:
        prompts, s = per_prompt_scores(run.duels, models)
        judge_f = win_rate_scorer(s)
    else:
        prompts = list(dict.fromkeys(g.prompt for g in run.games))
        keep = [ranking.models.index(m) for m in models]
        rf = rating_scorer(run.games, ranking.models, prompts, prior=prior)
        judge_f = lambda c: rf(c)[keep]
    return rank_agreement(models, judge_f, fixed_scorer(values), len(prompts), reference_name=Path(reference).name,
                          score=score, top_k=top_k, n_boot=n_boot, seed=seed)


def _align(duels: list[Duel], models: list[str], prompts: list[str]) -> np.ndarray:
    import numpy as np

    pidx = {p: k for k, p in enumerate(prompts)}
    midx = {m: i for i, m in enumerate(models)}
    s = np.full((len(models), len(prompts)), np.nan)
    for d in duels:
        if d.score is not None and d.model in midx and d.prompt in pidx:
            s[midx[d.model], pidx[d.prompt]] = d.score
    return s


def _read_reference(path: str, column: str, models: list[str]) -> list[float]:
    """Scores of ``models`` from another run's ratings.csv (NaN for a model it lacks)."""
    import csv

    from judgelm.data.errors import DataError

    p = Path(path)
    if not p.is_file():
        raise DataError(p, None, None, "reference file not found (give 'labels' or a ratings.csv)")
    with open(p, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows or "model" not in rows[0] or column not in rows[0]:
        raise DataError(p, 1, column, f"a reference ratings.csv needs the columns 'model' and '{column}'")
    got: dict[str, float] = {}
    for line, row in enumerate(rows, start=2):
        try:
            got[row["model"]] = float(row[column]) if row[column] != "" else float("nan")
        except ValueError:
            raise DataError(p, line, column, f"not a number: {row[column]!r}") from None
    missing = [m for m in models if m not in got]
    if missing:
        logger.warning("reference %s lacks %d model(s): %s", path, len(missing), ", ".join(missing))
    return [got.get(m, float("nan")) for m in models]
