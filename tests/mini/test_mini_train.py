"""A tiny run of the built-in judge's training recipe on real teacher rows, and its pieces."""

from __future__ import annotations

import numpy as np
import pytest

from judgelm.data.split import split_by_prompt
from judgelm.mini.features import question_text, relative
from judgelm.mini.teacher import load_alpaca_eval


@pytest.fixture(scope="module")
def embedding_cache(tmp_path_factory) -> str:
    """One embedding cache for the module's training runs: they embed the same teacher texts, and
    encoding them is most of a run's time (the cache is the recipe's own, keyed by text and encoder)."""
    return str(tmp_path_factory.mktemp("mini-embeddings"))


def test_relative_features_are_symmetric():
    v = np.array([[1.0, 5.0], [3.0, 2.0], [2.0, 2.0]])
    r = relative(v)
    assert np.allclose(r[0], [1.0 - 2.5, 5.0 - 2.0])
    assert np.allclose(relative(v[[1, 0, 2]]), r[[1, 0, 2]])
    assert np.allclose(relative(v[:1]), 0.0)


def test_question_text_keeps_the_current_question_last():
    q = question_text("Now shorten it.", "some input", [("user", "Write a poem."), ("assistant", "Roses...")])
    assert q.startswith("User: Write a poem.") and q.endswith("Now shorten it.\n\nsome input")


def test_teacher_split_excludes_selfinstruct_and_splits_by_prompt(shared_data):
    items = load_alpaca_eval(shared_data, models=["alpaca-7b"])
    assert 0 < len(items) < 805  # selfinstruct rows (252) are left out
    train, valid = split_by_prompt(items, 0.2, seed=0, key=lambda it: it.group)
    assert {i.group for i in train}.isdisjoint({i.group for i in valid})


@pytest.mark.slow(seconds=60)
def test_tiny_training_run(shared_data, tmp_path, embedding_cache):
    from judgelm.engines.base import JudgeRequest
    from judgelm.engines.mini import MiniEngine
    from judgelm.mini.evalsets import load_eval_set
    from judgelm.mini.train import MiniTrainConfig, train_mini

    cfg = MiniTrainConfig(
        data_dir=str(shared_data), output_dir=str(tmp_path / "out"), cache_dir=embedding_cache,
        max_tokens=64, head_tokens=32, alpaca_model_stride=26, arena_pairs_per_prompt=2,
        max_items_per_source=80, epochs=2, grid=[{"use_embeddings": True, "hidden": 16, "dropout": 0.1}],
    )
    out = train_mini(cfg)
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    eng = MiniEngine(str(out))
    rows = load_eval_set("llmbar_natural", shared_data)[:4]
    outs = eng.judge_batch([JudgeRequest(key=f"{s.id}|0-1", sample=s, prompt="") for s in rows])
    assert all(len(o.scores) == 2 and 0 <= o.confidence <= 1 for o in outs)


def test_neighbor_pairs_put_the_answer_to_another_prompt_against_the_own_one(shared_data):
    from judgelm.mini.teacher import neighbor_items

    items = load_alpaca_eval(shared_data, models=["alpaca-7b"])[:200]
    words = sorted({w for it in items for w in it.question.lower().split()})
    vocab = {w: i for i, w in enumerate(words)}

    def bag_of_words(texts):  # a stand-in encoder: normalised word counts
        out = np.zeros((len(texts), len(vocab)), np.float32)
        for r, t in enumerate(texts):
            for w in t.lower().split():
                if w in vocab:
                    out[r, vocab[w]] += 1
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    pairs = neighbor_items(items, 1.0, seed=0, embed_questions=bag_of_words)
    assert len(pairs) > 100
    answers_of = {}
    for it in items:
        answers_of.setdefault(it.group, set()).update(it.answers)
    for p in pairs:
        own, other = p.answers[p.verdict - 1], p.answers[2 - p.verdict]
        assert own in answers_of[p.group] and other not in answers_of[p.group]
    assert {p.verdict for p in pairs} == {1, 2}  # both positions


@pytest.mark.slow
def test_tiny_ensemble_run_records_sanity_checks(shared_data, tmp_path, embedding_cache):
    import json

    from judgelm.engines.base import JudgeRequest
    from judgelm.engines.mini import MiniEngine
    from judgelm.mini.evalsets import load_eval_set
    from judgelm.mini.train import MiniTrainConfig, train_mini

    cfg = MiniTrainConfig(
        data_dir=str(shared_data), output_dir=str(tmp_path / "out"), cache_dir=embedding_cache,
        max_tokens=64, head_tokens=32, alpaca_model_stride=26, arena_pairs_per_prompt=2, max_items_per_source=80,
        epochs=2, neighbor_share=0.5, combine="ensemble", ensemble_seeds=2,
        grid=[{"use_embeddings": True, "hidden": 8, "dropout": 0.1}, {"use_embeddings": False, "hidden": 8, "dropout": 0.1}],
    )
    out = train_mini(cfg)
    meta = json.loads((out / "config.json").read_text())
    assert len(meta["members"]) == 4 and {"non_answer", "neighbor"} <= set(meta["sanity_valid"])
    eng = MiniEngine(str(out))
    rows = load_eval_set("llmbar_natural", shared_data)[:6]
    fwd = eng.judge_batch([JudgeRequest(key=f"{s.id}|0-1", sample=s, prompt="") for s in rows])
    rev = eng.judge_batch([JudgeRequest(key=f"{s.id}|1-0", sample=s.reordered([1, 0]), prompt="") for s in rows])
    for a, b in zip(fwd, rev):  # the mean of order-invariant heads is order-invariant
        assert a.scores == list(reversed(b.scores))
