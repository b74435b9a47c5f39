"""Judging with a transformers causal LM (JudgeLM, PandaLM or any fine-tuned judge), CPU or GPU.

Why it is fast (see docs/engines.md for the full account):

* one tokenisation, then **token-budget batches over length-sorted prompts** (little padding,
  bounded memory) — never one ``generate`` per sample;
* **identical prompts run once** (the same request twice in a run, a re-query), and the longest
  token prefix shared by a whole batch (at least the system prompt) is prefilled once and its KV
  cache broadcast to every row;
* the prefill computes logits for the **last position only**; decoding is our own greedy loop with
  a KV cache that **drops finished rows** and stops the whole batch as soon as every row is done;
* **batch-invariant** greedy decoding by default (``batch_invariant``): a prompt is left-padded to
  a width set by its own length (``judgelm.engines.batching.padded_width``) and batched only with prompts of that
  width, without a batch-dependent shared prefix, so its tokens and score distributions — hence
  its verdict — do not depend on ``--batch-size`` or on the other prompts of the batch;
* *fast* mode decodes only the score line (stop at the first newline), *explained* mode goes on to
  EOS / ``max_new_tokens``. Both read a confidence from the distributions the loop already has
  (``judgelm.engines.confidence``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

from judgelm.engines.base import (
    Engine,
    EngineOutput,
    JudgeRequest,
    context_error,
    context_length,
)
from judgelm.engines.batching import common_prefix_length, padded_width, token_budget_batches
from judgelm.engines.confidence import (
    JUDGELM_VALUES,
    PANDALM_VALUES,
    ValueTokens,
    judgelm_reading,
    pandalm_reading,
    read_slots,
)
from judgelm.models.dtype import resolve_device, resolve_dtype
from judgelm.models.loading import load_causal_lm, prompt_token_ids

logger = logging.getLogger(__name__)


#: batch-invariant mode pads every prompt to the next multiple of this many tokens
DEFAULT_TOKEN_BUDGET_CPU = 4096
DEFAULT_TOKEN_BUDGET_GPU = 16384


def fast_new_tokens(n_answers: int) -> int:
    """Decode budget for a score line: up to 3 tokens per score ("1","0"," ") plus the newline."""
    return 3 * n_answers + 2


@dataclass
class _Job:
    """One distinct prompt to run (identical requests share a job)."""

    ids: list[int]
    max_new: int
    stop_at_newline: bool
    template: str
    n_slots: int
    tokens: list[int] = field(default_factory=list)
    masses: list[list[float]] = field(default_factory=list)
    latency: float = 0.0


@dataclass
class EngineStats:
    """Cumulative work counters (the benchmark turns them into FLOP/s)."""

    prefill_s: float = 0.0
    decode_s: float = 0.0
    prefill_tokens: int = 0  # tokens actually run through the model in prefill (no padding, prefix once)
    padded_prefill_tokens: int = 0
    decode_steps: int = 0
    generated_tokens: int = 0
    deduplicated: int = 0
    #: one entry per prefill batch: (shared prefix length, [suffix length per row])
    prefill_batches: list[tuple[int, list[int]]] = field(default_factory=list)


def trained_with_chat_template(target: str) -> bool:
    """Whether ``judgelm train`` wrote this judge with ``chat_template: true`` (its judgelm_train.json says so)."""
    import json
    from pathlib import Path

    summary = Path(str(target)).expanduser() / "judgelm_train.json"
    if not summary.is_file():
        return False
    try:
        return bool(json.loads(summary.read_text(encoding="utf-8")).get("config", {}).get("chat_template", False))
    except (ValueError, AttributeError):
        return False


class HFEngine(Engine):
    """A transformers causal LM judge. ``target`` is a hub id, a local directory, a GGUF file, a named
    base or a LoRA adapter folder (:func:`judgelm.models.loading.load_causal_lm`).

    Options: ``chat_template`` (wrap the judge prompt in the model's chat template; "auto" = when
    the folder's judgelm_train.json says it was trained so), ``dtype`` ("auto" = bf16 where supported), ``device`` ("auto" = cuda if available),
    ``token_budget`` (padded prompt+new tokens per batch), ``max_batch_size``, ``share_prefix``,
    ``fast_max_new_tokens`` (default 3·n_answers+2), ``min_new_tokens`` (benchmarks: force a fixed
    number of steps), ``num_beams`` / ``repetition_penalty`` (explained mode; PandaLM's original
    settings are 4 and 1.2), ``attn_implementation``, ``trust_remote_code``, ``batch_invariant``
    (default on: same tokens for a prompt whatever it is batched with; off: shared-prefix prefill and
    tighter padding, a little faster, but results may change in the last bits with the batch).
    """

    preferred_batch_size = 256
    cli_options: ClassVar[tuple[str, ...]] = ("dtype", "device")
    needs_target: ClassVar[bool] = True
    loads_model: ClassVar[bool] = True

    def __init__(
        self,
        target: str,
        *,
        dtype: Any = "auto",
        device: str = "auto",
        token_budget: int | None = None,
        max_batch_size: int = 64,
        share_prefix: bool = True,
        min_shared_prefix: int = 8,
        fast_max_new_tokens: int | None = None,
        min_new_tokens: int = 0,
        num_beams: int = 1,
        repetition_penalty: float = 1.0,
        attn_implementation: str | None = "sdpa",
        trust_remote_code: bool = False,
        batch_invariant: bool = True,
        chat_template: bool | str = "auto",
    ) -> None:
        import torch

        if not target:
            raise ValueError("hf engine needs a model: 'hf:<hub id or local path>'")
        self.name = f"hf:{target}"
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        # CPU: small batches keep activations in cache (4,096 tokens: 67% of the bf16 matmul peak in
        # prefill vs 48% at 16,384 on 2 cores, docs/benchmarks.md); GPU: large batches fill the device
        self.token_budget = int(token_budget or (DEFAULT_TOKEN_BUDGET_CPU if self.device == "cpu" else DEFAULT_TOKEN_BUDGET_GPU))
        self.max_batch_size = int(max_batch_size)
        self.batch_invariant = bool(batch_invariant)
        self.share_prefix = share_prefix and not self.batch_invariant
        self.min_shared_prefix = min_shared_prefix
        self.fast_max_new_tokens = fast_max_new_tokens
        self.min_new_tokens = int(min_new_tokens)
        self.num_beams = int(num_beams)
        self.repetition_penalty = float(repetition_penalty)
        loaded = load_causal_lm(target, dtype=self.dtype, device=self.device, trust_remote_code=trust_remote_code,
                                attn_implementation=attn_implementation)
        self.model, self.tokenizer, self.eos_ids = loaded.model, loaded.tokenizer, loaded.eos_ids
        self.pad_id = self.tokenizer.pad_token_id
        self.chat_template = trained_with_chat_template(target) if chat_template == "auto" else bool(chat_template)
        self.texts = self._token_texts()
        vocab = self.model.get_output_embeddings().weight.shape[0]
        self.texts += [""] * (vocab - len(self.texts))
        self.value_tokens = {"judgelm": ValueTokens.build(self.texts, JUDGELM_VALUES),
                             "pandalm": ValueTokens.build(self.texts, PANDALM_VALUES)}
        self._build_masks(torch, vocab)
        self.max_context = context_length(self.model.config)
        self.stats = EngineStats()
        logger.info("hf engine %s on %s (%s), %.1fM parameters", target, self.device, self.dtype,
                    self.model.num_parameters() / 1e6)

    def generation_settings(self) -> dict[str, Any]:
        """What changes the output (part of the cache and resume key), as strings: the form the keys of
        earlier runs were written with, so resuming them still finds their cache. (``chat_template`` is
        not among them: adding it now would orphan those caches.)"""
        return {k: str(v) for k, v in (("dtype", self.dtype), ("num_beams", self.num_beams),
                                       ("repetition_penalty", self.repetition_penalty),
                                       ("fast_max_new_tokens", self.fast_max_new_tokens),
                                       ("min_new_tokens", self.min_new_tokens),
                                       ("batch_invariant", self.batch_invariant))}

    # ------------------------------------------------------------------ setup
    def _token_texts(self) -> list[str]:
        """The exact text each token adds after other text (SentencePiece drops a leading space otherwise)."""
        tok = self.tokenizer
        anchor = tok.convert_tokens_to_ids(tok.tokenize("a"))[-1:] or [0]
        base = tok.decode(anchor, skip_special_tokens=False)
        n = len(tok)
        decoded = tok.batch_decode([anchor + [i] for i in range(n)], skip_special_tokens=False,
                                   clean_up_tokenization_spaces=False)
        special = set(tok.all_special_ids)
        return ["" if i in special else (d[len(base):] if d.startswith(base) else d) for i, d in enumerate(decoded)]

    def _build_masks(self, torch: Any, vocab: int) -> None:
        self.newline = torch.tensor(["\n" in t for t in self.texts], device=self.device)
        columns: list[tuple[str, Any]] = []
        self.group_offsets: dict[str, int] = {}
        for name, vt in self.value_tokens.items():
            self.group_offsets[name] = len(columns)
            columns += [(name, vt.members[key]) for key in vt.groups]
        matrix = torch.zeros(vocab, max(1, len(columns)), dtype=torch.float32)
        for g, (_, members) in enumerate(columns):
            matrix[members, g] = 1.0
        self.group_matrix = matrix.to(self.device)
        self.eos_mask = torch.zeros(vocab, dtype=torch.bool, device=self.device)
        for e in self.eos_ids:
            if e is not None and e < vocab:
                self.eos_mask[e] = True

    def encode(self, prompt: str) -> list[int]:
        """Token ids of a prompt, starting with BOS (:func:`prompt_token_ids`).

        With ``chat_template`` the prompt is first wrapped as the user turn of the model's chat
        template (:func:`judgelm.prompts.chat.wrap_chat`, exactly as ``chat_template: true`` trains it)."""
        if self.chat_template:
            from judgelm.prompts.chat import wrap_chat

            prompt = wrap_chat(self.tokenizer, prompt)
        return prompt_token_ids(self.tokenizer, prompt)

    # ------------------------------------------------------------------ API
    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        import torch

        jobs: dict[tuple, _Job] = {}
        keys: list[tuple | str] = []
        for r in requests:
            # rubric prompts (prometheus-*): free text graded by the parser; the JudgeLM value tokens are read
            # along (harmless) but the output carries no slot reading
            template = "judgelm" if r.criterion is not None else r.template
            if template not in self.value_tokens:
                raise ValueError(f"request {r.key!r}: unknown template {r.template!r} (judgelm or pandalm)")
            ids = self.encode(r.prompt)
            if r.fast:
                max_new = self.fast_max_new_tokens or fast_new_tokens(r.n_answers)
            else:
                max_new = r.max_new_tokens
            max_new = max(max_new, self.min_new_tokens)
            too_long = context_error(self.name, len(ids), max_new, self.max_context)
            if too_long:
                keys.append(too_long)
                continue
            n_slots = 1 if r.template == "pandalm" or r.mode in ("single", "vqa") else r.n_answers
            key = (tuple(ids), max_new, r.fast, template, n_slots)
            if key in jobs:
                self.stats.deduplicated += 1
            else:
                jobs[key] = _Job(ids=ids, max_new=max_new, stop_at_newline=r.fast, template=template, n_slots=n_slots)
            keys.append(key)
        unique = list(jobs.values())
        greedy = [j for j in unique if j.stop_at_newline or self.num_beams <= 1]
        beams = [j for j in unique if not (j.stop_at_newline or self.num_beams <= 1)]
        with torch.inference_mode():
            for group in self._width_groups(greedy):
                for batch in token_budget_batches([self._width(greedy[i].ids) + greedy[i].max_new for i in group],
                                                  self.token_budget, self.max_batch_size):
                    self._greedy([greedy[group[i]] for i in batch])
            budget = max(1, self.token_budget // max(1, self.num_beams))
            for batch in token_budget_batches([len(j.ids) + j.max_new for j in beams], budget, self.max_batch_size):
                self._beam([beams[i] for i in batch])
        return [EngineOutput(text="", error=k) if isinstance(k, str) else self._output(jobs[k], req)
                for k, req in zip(keys, requests)]

    def _width(self, ids: list[int]) -> int:
        """Padded prompt width: the prompt's own length rounded up in batch-invariant mode."""
        return padded_width(len(ids)) if self.batch_invariant else len(ids)

    def _width_groups(self, jobs: list[_Job]) -> list[list[int]]:
        """Indices of jobs that may share a batch: one group per padded width when batch-invariant."""
        if not self.batch_invariant:
            return [list(range(len(jobs)))]
        groups: dict[int, list[int]] = {}
        for i, j in enumerate(jobs):
            groups.setdefault(self._width(j.ids), []).append(i)
        return [groups[w] for w in sorted(groups, reverse=True)]

    def _output(self, job: _Job, req: JudgeRequest) -> EngineOutput:
        text = self.tokenizer.decode(job.tokens, skip_special_tokens=True)
        if req.criterion is not None:  # rubric grading: "Feedback: … [RESULT] k", read by the parser
            return EngineOutput(text=text, prompt_tokens=len(job.ids), completion_tokens=len(job.tokens),
                                latency_s=job.latency)
        vt = self.value_tokens[job.template]
        off = self.group_offsets[job.template]
        masses = [m[off:off + len(vt.groups)] for m in job.masses]
        slots = read_slots(job.tokens, masses, vt, job.n_slots)
        if job.template == "pandalm":
            reading = pandalm_reading(text, slots)
        else:
            reading = judgelm_reading(text, slots, req.n_answers, pinned=req.mode in ("single", "vqa"))
        extra: dict[str, Any] = {"slot_distributions": slots}
        if reading.verdict_probs is not None:
            extra["verdict_probs"] = reading.verdict_probs
        if reading.expected_scores is not None:
            extra["expected_scores"] = reading.expected_scores
        return EngineOutput(text=text, confidence=float(min(1.0, max(0.0, reading.confidence))),
                            prompt_tokens=len(job.ids), completion_tokens=len(job.tokens),
                            latency_s=job.latency, extra=extra)

    # ------------------------------------------------------------------ decoding
    def _greedy(self, batch: list[_Job]) -> None:
        """Greedy decoding of one batch with a KV cache; rows leave the batch when they finish."""
        import torch
        from transformers import DynamicCache

        dev = self.device
        t0 = time.perf_counter()
        rows = [j.ids for j in batch]
        lcp = common_prefix_length(rows) if self.share_prefix and len(rows) > 1 else 0
        lcp = min(lcp, min(len(r) for r in rows) - 1)
        if lcp < self.min_shared_prefix:
            lcp = 0
        cache = DynamicCache(config=self.model.config)
        if lcp:
            prefix = torch.tensor([rows[0][:lcp]], device=dev)
            self.model(input_ids=prefix, past_key_values=cache, use_cache=True, logits_to_keep=1)
            cache.batch_repeat_interleave(len(rows))
        suffixes = [r[lcp:] for r in rows]
        width = max(self._width(s) for s in suffixes)  # batch-invariant: one width per batch, set by the rows
        ids = torch.full((len(rows), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros((len(rows), lcp + width), dtype=torch.long)
        mask[:, :lcp] = 1
        for i, s in enumerate(suffixes):
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, lcp + width - len(s):] = 1
        ids, mask = ids.to(dev), mask.to(dev)
        pos = (mask.cumsum(-1) - 1).clamp(min=0)[:, lcp:]
        out = self.model(input_ids=ids, attention_mask=mask, position_ids=pos, past_key_values=cache,
                         use_cache=True, logits_to_keep=1)
        logits = out.logits[:, -1, :].float()
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        t1 = time.perf_counter()
        self.stats.prefill_s += t1 - t0
        self.stats.prefill_tokens += lcp + sum(len(s) for s in suffixes)
        self.stats.padded_prefill_tokens += lcp + len(rows) * width
        self.stats.prefill_batches.append((lcp, [len(s) for s in suffixes]))

        active = list(range(len(batch)))  # batch rows still decoding, in cache order
        history = [list(r) for r in rows] if self.repetition_penalty != 1.0 else None
        last_pos = pos[:, -1]
        step = 0
        while active:
            if history is not None:
                logits = self._penalise(logits, [history[a] for a in active])
            if step < self.min_new_tokens:
                logits[:, self.eos_mask] = float("-inf")
            probs = torch.softmax(logits, dim=-1)
            nxt = probs.argmax(dim=-1)
            masses = (probs @ self.group_matrix).tolist()
            tokens = nxt.tolist()
            is_nl = self.newline[nxt].tolist()
            keep: list[int] = []
            for k, a in enumerate(active):
                job = batch[a]
                job.tokens.append(tokens[k])
                job.masses.append(masses[k])
                if history is not None:
                    history[a].append(tokens[k])
                done = len(job.tokens) >= job.max_new
                if len(job.tokens) > self.min_new_tokens:
                    done = done or tokens[k] in self.eos_ids or (job.stop_at_newline and is_nl[k])
                if done:
                    job.latency = time.perf_counter() - t0
                else:
                    keep.append(k)
            step += 1
            self.stats.generated_tokens += len(active)
            if not keep:
                break
            if len(keep) < len(active):
                sel = torch.tensor(keep, device=dev)
                cache.batch_select_indices(sel)
                mask, last_pos, nxt = mask[sel], last_pos[sel], nxt[sel]
                active = [active[k] for k in keep]
            mask = torch.cat([mask, mask.new_ones((len(active), 1))], dim=1)
            last_pos = last_pos + 1
            out = self.model(input_ids=nxt[:, None], attention_mask=mask, position_ids=last_pos[:, None],
                             past_key_values=cache, use_cache=True)
            logits = out.logits[:, -1, :].float()
            self.stats.decode_steps += 1
        if dev.startswith("cuda"):
            torch.cuda.synchronize()
        self.stats.decode_s += time.perf_counter() - t1

    def _penalise(self, logits: Any, histories: list[list[int]]) -> Any:
        """CTRL-style repetition penalty (as transformers applies it), per row."""
        import torch

        for i, h in enumerate(histories):
            idx = torch.tensor(sorted(set(h)), device=logits.device)
            vals = logits[i, idx]
            logits[i, idx] = torch.where(vals < 0, vals * self.repetition_penalty, vals / self.repetition_penalty)
        return logits

    def _beam(self, batch: list[_Job]) -> None:
        """Beam search via ``generate`` (PandaLM's original decoding), then one teacher-forced pass
        over prompt + first line to read the confidence distributions."""
        import torch

        dev = self.device
        t0 = time.perf_counter()
        width = max(len(j.ids) for j in batch)
        ids = torch.full((len(batch), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, j in enumerate(batch):
            ids[i, width - len(j.ids):] = torch.tensor(j.ids)
            mask[i, width - len(j.ids):] = 1
        gen = self.model.generate(
            input_ids=ids.to(dev), attention_mask=mask.to(dev), do_sample=False, num_beams=self.num_beams,
            repetition_penalty=self.repetition_penalty, max_new_tokens=max(j.max_new for j in batch),
            min_new_tokens=self.min_new_tokens or None, pad_token_id=self.pad_id, early_stopping=True,
        )
        for i, j in enumerate(batch):
            toks = gen[i, width:].tolist()
            cut = next((k + 1 for k, t in enumerate(toks) if t in self.eos_ids), len(toks))
            j.tokens = [t for t in toks[:min(cut, j.max_new)] if t != self.pad_id or t in self.eos_ids]
        self._teacher_forced_masses(batch)
        self.stats.decode_s += time.perf_counter() - t0
        for j in batch:
            j.latency = time.perf_counter() - t0

    def _teacher_forced_masses(self, batch: list[_Job]) -> None:
        """Distributions along already generated first lines (one forward pass, logits at line positions)."""
        import torch

        lines = []
        for j in batch:
            k = next((n + 1 for n, t in enumerate(j.tokens) if "\n" in self.texts[t]), len(j.tokens))
            lines.append(j.tokens[:max(1, k)])
        seqs = [j.ids + line[:-1] for j, line in zip(batch, lines)]
        width = max(len(s) for s in seqs)
        keep = max(len(line) for line in lines)
        ids = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
        mask = torch.zeros_like(ids)
        for i, s in enumerate(seqs):
            ids[i, width - len(s):] = torch.tensor(s)
            mask[i, width - len(s):] = 1
        pos = (mask.cumsum(-1) - 1).clamp(min=0)
        out = self.model(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                         position_ids=pos.to(self.device), logits_to_keep=keep)
        probs = torch.softmax(out.logits.float(), dim=-1)
        masses = (probs @ self.group_matrix).tolist()
        for i, (j, line) in enumerate(zip(batch, lines)):
            j.masses = masses[i][keep - len(line):] + [[0.0] * self.group_matrix.shape[1]] * (len(j.tokens) - len(line))

    def close(self) -> None:
        self.model = None
