"""``openai:MODEL`` — any OpenAI-compatible endpoint: OpenAI itself, vLLM, TGI, Ollama, LM Studio.

Why its own retry loop (the client's built-in retries are switched off): judging runs are long and
unattended, so every transient failure — 429 (honouring ``Retry-After``), 5xx, timeouts, dropped
connections, a truncated/invalid JSON body — is retried with exponential backoff and jitter, and what
still fails comes back as an error output (recorded, retried by the next run) instead of an exception
that would abort thousands of finished calls.

The budget cap is hard: before each call the worst-case cost (prompt bytes as tokens + max_tokens)
is reserved against the budget; a call that could overshoot is not made and its request comes back
with the error ``budget exhausted`` (resumable later with a larger budget).

The API key is read from an environment variable and only handed to the client; it never appears in
outputs, logs or error messages (errors are scrubbed of it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import email.utils
import logging
import math
import os
import random
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from judgelm.engines.base import Engine, EngineOutput, JudgeRequest

logger = logging.getLogger(__name__)

BUDGET_EXHAUSTED = "budget exhausted"

#: USD per 1M tokens (input, output). Override with ``prices={"model": (in, out)}`` / --price-in/--price-out.
PRICES_PER_M: dict[str, tuple[float, float]] = {
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4-turbo": (10.00, 30.00),
    "gpt-4": (30.00, 60.00),
    "gpt-3.5-turbo": (0.50, 1.50),
}


def price_for(model: str, overrides: dict[str, tuple[float, float]] | None = None) -> tuple[float, float] | None:
    """(input, output) USD per 1M tokens: exact name, else the longest known prefix (dated snapshots)."""
    table = {**PRICES_PER_M, **(overrides or {})}
    if model in table:
        return table[model]
    prefixes = [k for k in table if model.startswith(k)]
    return table[max(prefixes, key=len)] if prefixes else None


def resolve_price(model: str, price_in: float | None, price_out: float | None, budget_usd: float | None = None,
                  prices: dict[str, tuple[float, float]] | None = None) -> tuple[float, float]:
    """(input, output) USD per 1M tokens: the known price of ``model`` with either side overridden.

    An unknown price counts as $0 — with a warning when a budget is set, since it cannot bind then.
    """
    known = price_for(model, prices)
    price = known or (0.0, 0.0)
    price = (price_in if price_in is not None else price[0], price_out if price_out is not None else price[1])
    if known is None and price_in is None and price_out is None and budget_usd is not None:
        logger.warning("no price known for %s: calls count as $0 against --budget-usd (set --price-in/--price-out)",
                       model)
    return price


def api_key(api_key_env: str, api_base: str | None) -> str:
    """The key from ``api_key_env``; a local server (``api_base`` set) may do without one."""
    key = os.environ.get(api_key_env)
    if key:
        return key
    if not api_base:
        raise ValueError(f"no API key: set the environment variable {api_key_env} (or pass --api-base "
                         "for a local server that needs none)")
    return "EMPTY"  # local servers (vLLM, Ollama) accept any key


@dataclass
class _Attempt:
    """How one call ended: an output, or a retryable failure with an optional server-given wait."""

    output: EngineOutput | None = None
    retry_error: str | None = None
    retry_after: float | None = None


class Budget:
    """Spent + reserved USD against an optional cap; thread-safe (an engine may serve several
    event loops in turn, a generator several threads). Shared by the judge engine and the generator."""

    def __init__(self, limit: float | None) -> None:
        self.limit = limit
        self.spent = 0.0
        self.reserved = 0.0
        self._lock = threading.Lock()

    def reserve(self, amount: float) -> bool:
        with self._lock:
            if self.limit is not None and self.spent + self.reserved + amount > self.limit:
                return False
            self.reserved += amount
            return True

    def settle(self, reserved: float, actual: float) -> None:
        with self._lock:
            self.reserved -= reserved
            self.spent += actual


class OpenAIEngine(Engine):
    """Async judging against an OpenAI-protocol server with a concurrency limit.

    ``api``: "chat" sends the raw judge prompt as one user message (GPT-4 & co.); "completions"
    sends it verbatim — use that for a vLLM/TGI server hosting JudgeLM/PandaLM weights, which must
    see the exact prompt they were trained on, without a chat template.

    ``tokenizer`` (completions only): a local model folder/spec whose tokenizer turns each prompt into
    the token ids the hf and vllm engines read (:func:`judgelm.models.loading.prompt_token_ids`:
    BOS first, the chat template first where the judge was trained with one — ``chat_template``
    "auto" as in the hf engine); those ids are sent instead of the text, so a server adds nothing
    and drops nothing. Default "auto": the model name itself when it is a local folder with a
    tokenizer (vLLM serves ``--model DIR`` under the name DIR); "none" sends the text as it is.
    ``token_ids=False`` sends text instead, with the BOS token's text first where the tokenizer adds
    none (for servers that take no token ids).
    """

    cli_options: ClassVar[tuple[str, ...]] = ("api_base", "api_key_env", "api", "concurrency", "timeout_s",
                                              "max_retries", "budget_usd", "price_in", "price_out")
    needs_target: ClassVar[bool] = True
    requires: ClassVar[tuple[str, str] | None] = ("openai", "pip install openai")

    def __init__(
        self,
        target: str,
        *,
        api_base: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        api: str = "chat",
        concurrency: int = 8,
        timeout_s: float = 60.0,
        max_retries: int = 6,
        backoff_s: float = 1.0,
        backoff_max_s: float = 60.0,
        budget_usd: float | None = None,
        price_in: float | None = None,
        price_out: float | None = None,
        prices: dict[str, tuple[float, float]] | None = None,
        temperature: float = 0.0,
        logprobs: bool = True,
        top_logprobs: int = 5,
        tokenizer: str | None = "auto",
        chat_template: bool | str = "auto",
        token_ids: bool = True,
        **_ignored: Any,
    ) -> None:
        if not target:
            raise ValueError("openai engine needs a model name, e.g. 'openai:gpt-4o'")
        if api not in ("chat", "completions"):
            raise ValueError(f"api must be 'chat' or 'completions', not {api!r}")
        if _ignored:
            logger.debug("openai engine ignores options %s", sorted(_ignored))
        self.model = target
        self.name = f"openai:{target}"
        self.api_base = api_base or os.environ.get("OPENAI_BASE_URL")
        self._api_key = api_key(api_key_env, self.api_base)
        self.api = api
        self.concurrency = max(1, int(concurrency))
        self.preferred_batch_size = self.concurrency * 4
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.temperature = temperature
        self.want_logprobs = logprobs
        self.top_logprobs = top_logprobs
        self.price = resolve_price(target, price_in, price_out, budget_usd, prices)
        self.budget = Budget(budget_usd)
        self.encoder = prompt_encoder(target, tokenizer, chat_template, token_ids) if api == "completions" else None

    # -- identity --------------------------------------------------------------------------------

    def generation_settings(self) -> dict[str, Any]:
        """What identifies the answer (part of the cache and resume key), never the API key.

        The base URL is included: two servers may serve different weights under one model name.
        """
        settings = {"api": self.api, "temperature": self.temperature, "api_base": self.api_base or "openai"}
        if self.encoder is not None:  # token ids (BOS, chat template) are another prompt than the text
            settings["prompt"] = self.encoder.describe
        return settings

    @property
    def spent_usd(self) -> float:
        return self.budget.spent

    def __repr__(self) -> str:  # no key in reprs either
        return f"OpenAIEngine(model={self.model!r}, api_base={self.api_base!r}, api={self.api!r})"

    # -- judging ---------------------------------------------------------------------------------

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """Judge concurrently (at most ``concurrency`` calls in flight); never raises for a call's failure.

        Callable from synchronous code and from inside a running event loop (serve): there the
        batch runs on its own loop in a helper thread.
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self._judge_all(requests))
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, self._judge_all(requests)).result()

    async def _judge_all(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        import openai

        client = openai.AsyncOpenAI(api_key=self._api_key, base_url=self.api_base, timeout=self.timeout_s,
                                    max_retries=0)
        sem = asyncio.Semaphore(self.concurrency)
        try:
            async def one(req: JudgeRequest) -> EngineOutput:
                async with sem:
                    return await self._judge_one(client, req)

            return list(await asyncio.gather(*(one(r) for r in requests)))
        finally:
            await client.close()

    def _estimate_usd(self, req: JudgeRequest) -> float:
        # bytes bound the token count of any byte-level tokenizer: a true worst case, so the cap is hard
        worst_in = len(req.prompt.encode("utf-8")) + 16
        return (worst_in * self.price[0] + req.max_new_tokens * self.price[1]) / 1e6

    async def _judge_one(self, client: Any, req: JudgeRequest) -> EngineOutput:
        reserve = self._estimate_usd(req)
        if not self.budget.reserve(reserve):
            return EngineOutput(text="", error=BUDGET_EXHAUSTED)
        t0 = time.perf_counter()
        actual = 0.0
        try:
            last_error = "no attempt made"
            for attempt in range(self.max_retries + 1):
                result = await self._attempt(client, req)
                if result.output is not None:
                    out = result.output
                    out.latency_s = time.perf_counter() - t0
                    out.extra["attempts"] = attempt + 1
                    actual = out.cost_usd
                    return out
                last_error = result.retry_error or last_error
                if attempt == self.max_retries:
                    break
                wait = result.retry_after
                if wait is None:
                    wait = min(self.backoff_max_s, self.backoff_s * 2**attempt) * (0.5 + random.random() / 2)
                logger.warning("%s: %s — retry %d/%d in %.1fs", req.key, last_error, attempt + 1,
                               self.max_retries, wait)
                await asyncio.sleep(wait)
            return EngineOutput(text="", error=f"gave up after {self.max_retries + 1} attempts: {last_error}",
                                latency_s=time.perf_counter() - t0)
        finally:
            self.budget.settle(reserve, actual)

    async def _attempt(self, client: Any, req: JudgeRequest) -> _Attempt:
        import openai

        try:
            if self.api == "chat":
                kwargs: dict[str, Any] = dict(
                    model=self.model, messages=[{"role": "user", "content": req.prompt}],
                    max_tokens=req.max_new_tokens, temperature=self.temperature,
                )
                if self.want_logprobs:
                    kwargs.update(logprobs=True, top_logprobs=self.top_logprobs)
            else:
                prompt: list[int] | str = self.encoder.encode(req.prompt) if self.encoder else req.prompt
                kwargs = dict(model=self.model, prompt=prompt, max_tokens=req.max_new_tokens,
                              temperature=self.temperature)
                if self.want_logprobs:
                    kwargs["logprobs"] = self.top_logprobs
            if req.fast:
                kwargs["stop"] = ["\n"]
            create = client.chat.completions.create if self.api == "chat" else client.completions.create
            resp = await create(**kwargs)
        except openai.BadRequestError as exc:
            if self.want_logprobs and "logprob" in str(exc).lower():
                logger.warning("server rejects logprobs; continuing without (no confidence)")
                self.want_logprobs = False
                return _Attempt(retry_error="logprobs unsupported", retry_after=0.0)
            return _Attempt(output=EngineOutput(text="", error=self._scrub(f"BadRequestError: {exc}")))
        except openai.APIStatusError as exc:
            status = exc.status_code
            if status == 429 or status >= 500 or status in (408, 409):
                return _Attempt(retry_error=self._scrub(f"HTTP {status}"), retry_after=_retry_after(exc.response))
            return _Attempt(output=EngineOutput(text="", error=self._scrub(f"HTTP {status}: {exc}")))
        except openai.APITimeoutError:
            return _Attempt(retry_error=f"timeout after {self.timeout_s}s")
        except openai.APIConnectionError as exc:
            return _Attempt(retry_error=self._scrub(f"connection error: {exc}"))
        except (ValueError, openai.APIResponseValidationError) as exc:
            # truncated or malformed JSON (json.JSONDecodeError is a ValueError), or a body missing fields
            return _Attempt(retry_error=self._scrub(f"bad response: {type(exc).__name__}: {exc}"))
        try:
            return _Attempt(output=self._to_output(resp, req))
        except (AttributeError, TypeError, IndexError) as exc:  # 200 with a body that is not a completion
            return _Attempt(retry_error=self._scrub(f"malformed completion: {type(exc).__name__}: {exc}"))

    def _to_output(self, resp: Any, req: JudgeRequest) -> EngineOutput:
        choice = resp.choices[0]
        if self.api == "chat":
            text = choice.message.content or ""
            tokens = _chat_logprobs(choice)
        else:
            text = choice.text or ""
            tokens = _completion_logprobs(choice)
        usage = getattr(resp, "usage", None)
        p_in = int(getattr(usage, "prompt_tokens", 0) or 0)
        p_out = int(getattr(usage, "completion_tokens", 0) or 0)
        cost = (p_in * self.price[0] + p_out * self.price[1]) / 1e6
        return EngineOutput(
            text=text,
            confidence=score_confidence(text, tokens, req) if tokens else None,
            prompt_tokens=p_in,
            completion_tokens=p_out,
            cost_usd=cost,
            extra={"finish_reason": getattr(choice, "finish_reason", None), "model": getattr(resp, "model", None)},
        )

    def _scrub(self, message: str) -> str:
        return message.replace(self._api_key, "***") if self._api_key and self._api_key != "EMPTY" else message


class PromptEncoder:
    """A local tokenizer that turns judge prompts into the hf engine's token ids (BOS first)."""

    def __init__(self, source: str, chat_template: bool | str = "auto", token_ids: bool = True) -> None:
        from transformers import AutoTokenizer

        from judgelm.models.sources import resolve_model_source
        from judgelm.engines.hf import trained_with_chat_template

        src = resolve_model_source(source)
        self.tokenizer = AutoTokenizer.from_pretrained(src.path_or_id, **src.kwargs())
        self.chat_template = trained_with_chat_template(source) if chat_template == "auto" else bool(chat_template)
        self.token_ids = bool(token_ids)
        self.describe = (f"{'token ids' if self.token_ids else 'text'}: {source} "
                         f"(bos{', chat template' if self.chat_template else ''})")

    def encode(self, prompt: str) -> list[int] | str:
        """Token ids (BOS first), or with ``token_ids=False`` the text that a server's tokenizer turns
        into them: the BOS token's text goes first where the tokenizer adds no BOS of its own."""
        from judgelm.models.loading import prompt_token_ids

        if self.chat_template:
            from judgelm.prompts.chat import wrap_chat

            prompt = wrap_chat(self.tokenizer, prompt)
        ids = prompt_token_ids(self.tokenizer, prompt)
        if self.token_ids:
            return ids
        own = self.tokenizer(prompt, add_special_tokens=True)["input_ids"]
        return prompt if own[:1] == ids[:1] else self.tokenizer.bos_token + prompt


def prompt_encoder(target: str, tokenizer: str | None, chat_template: bool | str = "auto",
                   token_ids: bool = True) -> PromptEncoder | None:
    """The completions route's :class:`PromptEncoder`: ``tokenizer`` names it; "auto" = the model name
    when that is a local folder with a tokenizer (else None: the text is sent as it is)."""
    if tokenizer in (None, "", "none", False):
        return None
    if tokenizer == "auto":
        folder = Path(target).expanduser()
        if not ((folder / "tokenizer.json").is_file() or (folder / "tokenizer_config.json").is_file()):
            return None
        tokenizer = str(folder)
    return PromptEncoder(str(tokenizer), chat_template, token_ids)


def _retry_after(response: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date), capped at 10 min."""
    headers = getattr(response, "headers", None) or {}
    try:
        if headers.get("retry-after-ms"):
            return min(600.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return min(600.0, max(0.0, float(value)))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return min(600.0, max(0.0, when.timestamp() - time.time()))
    except (TypeError, ValueError):
        return None


Step = tuple[str, list[tuple[str, float]]]  # (chosen token, [(alternative token, logprob), ...])


def _chat_logprobs(choice: Any) -> list[Step]:
    content = getattr(getattr(choice, "logprobs", None), "content", None) or []
    return [(t.token, [(a.token, a.logprob) for a in (t.top_logprobs or [])]) for t in content]


def _completion_logprobs(choice: Any) -> list[Step]:
    lp = getattr(choice, "logprobs", None)
    if lp is None or not getattr(lp, "tokens", None):
        return []
    tops = lp.top_logprobs or [None] * len(lp.tokens)
    return [(t, list((top or {}).items())) for t, top in zip(lp.tokens, tops)]


def score_slots(steps: list[Step], values: tuple[str, ...]) -> list[dict[str, float]] | None:
    """Per-score-slot value distributions from the top logprobs of the score line's tokens.

    At each step where a score begins, the probability mass of the alternatives that would have
    begun a valid value is spread over those values (normalised); the chosen token counts for the
    value the text actually wrote. None when the server gave no alternatives (no honest estimate).
    """
    from judgelm.engines.confidence import SEPARATORS, classify_token

    if not steps or not any(alts for _, alts in steps):
        return None
    slots: list[dict[str, float]] = []
    line = ""
    for i, (token, alts) in enumerate(steps):
        info = classify_token(token, values)
        at_boundary = line.strip(SEPARATORS) == "" or line[-1] in SEPARATORS
        if info is not None and (at_boundary or info[0] == "sep"):
            rest = "".join(t for t, _ in steps[i:]).lstrip(SEPARATORS)
            written = next((v for v in sorted(info[1], key=len, reverse=True) if rest.startswith(v)), info[1][0])
            dist: dict[str, float] = {}
            for alt, lp in alts or [(token, 0.0)]:
                alt_info = classify_token(alt, values)
                if alt_info is None or (alt_info[0] == "bare" and not at_boundary):
                    continue
                value = written if alt == token else min(alt_info[1], key=len)
                dist[value] = dist.get(value, 0.0) + math.exp(lp)
            total = sum(dist.values())
            slots.append({v: p / total for v, p in dist.items()} if total > 0 else {})
        line += token
        if "\n" in line.lstrip("\n" + SEPARATORS):
            break
    return slots


def score_confidence(text: str, steps: list[Step], req: JudgeRequest) -> float | None:
    """Probability of the verdict the text expresses (pair/multi), of the grade (single/vqa) or of
    PandaLM's verdict, read from the server's top logprobs (see :mod:`judgelm.engines.confidence`)."""
    from judgelm.engines.confidence import (
        JUDGELM_VALUES,
        PANDALM_VALUES,
        judgelm_reading,
        pandalm_reading,
    )

    if req.criterion is not None:  # rubric grading: the grade follows free feedback; no score slots to read
        return None
    if req.template == "pandalm":
        slots = score_slots(steps, PANDALM_VALUES)
        return None if slots is None else pandalm_reading(text, slots).confidence
    slots = score_slots(steps, JUDGELM_VALUES)
    if slots is None:
        return None
    return judgelm_reading(text, slots, req.n_answers, pinned=req.mode in ("single", "vqa")).confidence
