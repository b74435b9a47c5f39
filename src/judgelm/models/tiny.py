"""Tiny real models for tests and CI benchmarks: a Llama built from a config, with a
byte-level BPE tokenizer trained on the spot. No download, seconds to build.

Used by the test-suite (fixtures in tests/conftest.py) and ``judgelm bench --tiny``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>"]

# a little text so every digit, space and newline the judges emit is in the vocabulary
_SEED_TEXT = [
    "1 2 3 4 5 6 7 8 9 10\n",
    "8 7\nAssistant 1 is more helpful than Assistant 2.",
    "1\n\n### Reason: Response 1 is better.\n\n### Reference: ok",
    "Tie\n\n### Reason: both are fine.\n\n### Reference: ok",
]


def train_tokenizer(texts: Iterable[str], vocab_size: int = 512):  # -> PreTrainedTokenizerFast
    """Train a byte-level BPE tokenizer (Llama-style specials: <s> BOS, </s> EOS, <pad>)."""
    from tokenizers import (
        Tokenizer,
        decoders,
        models,
        pre_tokenizers,
        processors,
        trainers,
    )
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_SEED_TEXT) + list(texts), trainer=trainer)
    bos = tok.token_to_id("<s>")
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", pair="<s> $A $B", special_tokens=[("<s>", bos)])
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        padding_side="left",
    )


def build_tiny_llama(
    out_dir: str | Path,
    texts: Iterable[str] = (),
    *,
    vocab_size: int = 512,
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 2048,
    seed: int = 0,
) -> Path:
    """Write a randomly initialised LlamaForCausalLM + tokenizer to ``out_dir`` and return it.

    The result loads with ``AutoModelForCausalLM.from_pretrained(out_dir)`` like any hub model.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(texts, vocab_size=vocab_size)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=intermediate_size or hidden_size * 4,
        num_hidden_layers=num_layers,
        num_attention_heads=num_heads,
        num_key_value_heads=num_heads,
        max_position_embeddings=max_position_embeddings,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=False,
    )
    torch.manual_seed(seed)
    model = LlamaForCausalLM(config)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    logger.info("tiny llama (%.2fM params) written to %s", model.num_parameters() / 1e6, out)
    return out
