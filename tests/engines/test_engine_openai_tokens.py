"""The openai engine's completions route sends the prompt the hf and vllm engines read: token ids from
a local tokenizer with BOS first (``prompt_token_ids``), or that prompt as text with the BOS text."""

from __future__ import annotations

from pathlib import Path

from judgelm.engines import load_engine
from judgelm.models.loading import prompt_token_ids
from judgelm.engines.openai import prompt_encoder

PROMPT = "You are a helpful and precise assistant for checking the quality of the answer.\n[Question]\nq"


def test_completions_send_the_hf_engines_token_ids(tiny_llama: Path) -> None:
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_llama)
    # vLLM serves `--model DIR` under the name DIR: "auto" finds the tokenizer there
    engine = load_engine(f"openai:{tiny_llama}", api_base="http://127.0.0.1:9/v1", api="completions")
    ids = engine.encoder.encode(PROMPT)
    assert ids == prompt_token_ids(tok, PROMPT) and ids[0] == tok.bos_token_id
    assert engine.generation_settings()["prompt"].startswith("token ids")  # another cache key than the text's


def test_text_mode_puts_the_bos_text_first_only_where_the_tokenizer_adds_none(tiny_llama: Path) -> None:
    enc = prompt_encoder(str(tiny_llama), "auto", token_ids=False)
    text = enc.encode(PROMPT)
    own = enc.tokenizer(PROMPT, add_special_tokens=True)["input_ids"]
    if own[:1] == [enc.tokenizer.bos_token_id]:
        assert text == PROMPT
    else:
        assert text == enc.tokenizer.bos_token + PROMPT
    # whichever: the server's tokenizer turns the text into the hf engine's ids
    assert enc.tokenizer(text, add_special_tokens=True)["input_ids"] == prompt_token_ids(enc.tokenizer, PROMPT)


def test_no_local_tokenizer_means_the_text_as_it_is() -> None:
    assert prompt_encoder("gpt-4o", "auto") is None and prompt_encoder("x", "none") is None
    engine = load_engine("openai:tiny", api_base="http://127.0.0.1:9/v1", api="completions")
    assert engine.encoder is None and "prompt" not in engine.generation_settings()
    chat = load_engine("openai:tiny", api_base="http://127.0.0.1:9/v1", api="chat", tokenizer="whatever")
    assert chat.encoder is None  # the chat route: the server applies its chat template
