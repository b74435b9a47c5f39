"""The one interface every judging engine implements (hf, vllm, openai, mini, lm, smol, and yours).

An engine turns a batch of :class:`JudgeRequest` into :class:`EngineOutput` — raw text
plus whatever the engine knows beyond text (scores read from token probabilities,
a confidence, token usage, cost). Parsing text into verdicts is *not* the engine's job:
``judgelm.judging.runner`` does it with ``judgelm.prompts.parsing``, so all engines are judged alike.

The contract (docs/engines.md, "Adding an engine"): :meth:`Engine.judge_batch` and
:meth:`Engine.generation_settings` are required; the class attributes say, before anything is
loaded, what the command line may hand the engine (:attr:`Engine.cli_options`) and what its spec
needs (:attr:`Engine.needs_target`, :attr:`Engine.loads_model`, :attr:`Engine.requires`) — so engine
modules stay cheap to import (torch and clients inside functions) and ``judgelm.engines.specs``
checks a spec offline in well under a second.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from judgelm.schema import Sample

if TYPE_CHECKING:
    from judgelm.prompts.rubric import Criterion


@dataclass
class JudgeRequest:
    """One prompt to judge. ``sample`` is already in presented order (answers swapped if asked)."""

    key: str  # unique within a run, e.g. "<sample_id>|1-0"
    sample: Sample
    prompt: str  # rendered prompt, byte-exact for the template
    template: str = "judgelm"  # "judgelm" | "pandalm" | "prometheus-absolute" | "prometheus-relative"
    mode: str = "pair"  # pair | single | multi | vqa
    n_answers: int = 2
    fast: bool = True  # True: only the score line; False: full explanation
    max_new_tokens: int = 512
    reference_used: bool = False
    #: rubric grading (prometheus-* templates): the criterion this prompt grades — its name, scale and
    #: level descriptions, for engines that score without reading the prompt; None otherwise
    criterion: Criterion | None = None


@dataclass
class EngineOutput:
    """What an engine produced for one request."""

    text: str
    scores: list[float] | None = None  # set by engines that score directly (presented order)
    confidence: float | None = None  # probability the resulting verdict is right, 0..1
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    error: str | None = None  # engine failure: nothing usable was produced
    extra: dict[str, Any] = field(default_factory=dict)


class Engine(ABC):
    """A judge backend. Engines are created once and reused across batches; a registered engine is
    made as ``cls(target, **options)`` from the spec ``"kind:target"`` (:func:`judgelm.engines.load_engine`)."""

    #: short identifier recorded in every judgement, e.g. "hf:BAAI/JudgeLM-7B-v1.0" (part of the cache key)
    name: str = "engine"
    #: how many requests the caller should hand over at once (engines batch internally)
    preferred_batch_size: int = 64
    #: the constructor keywords that the commands' shared flags may set (``--api-base`` → ``api_base``,
    #: ``--dtype`` → ``dtype``, …: judgelm.commands.options.engine_options); a flag not named here is
    #: not passed to this engine. ``-O KEY=VALUE`` reaches every keyword regardless.
    cli_options: ClassVar[tuple[str, ...]] = ()
    #: whether the spec needs a target after the colon (``hf:ID``), checked before loading
    needs_target: ClassVar[bool] = False
    #: whether the target names model weights (folder, hub id, GGUF, named base) checked offline before loading
    loads_model: ClassVar[bool] = False
    #: an optional package the engine cannot work without, and how to get it: ``(package, how)``
    requires: ClassVar[tuple[str, str] | None] = None

    @abstractmethod
    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """Judge ``requests``; return one output per request, in the same order. A request the engine
        cannot judge gets ``EngineOutput(text="", error=...)`` (recorded, retried by the next run);
        an exception fails the whole batch the same way."""

    @abstractmethod
    def generation_settings(self) -> dict[str, Any]:
        """Everything besides :attr:`name` and the prompt that changes this engine's output (dtype,
        decoding knobs, the server, …): part of the response-cache and resume key, so a run resumed
        with other settings does not reuse outputs made with these. JSON-able values; keep the dict
        stable across versions, or every cached run misses its cache."""

    def close(self) -> None:
        """Release models, sessions and threads."""

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def context_length(config: Any) -> int | None:
    """The longest sequence a transformers model config was built for (None when it does not say)."""
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return None


#: how every context-window error starts (the server maps it to HTTP 400 ``context_length_exceeded``)
CONTEXT_EXCEEDED = "context length exceeded"


def context_error(name: str, prompt_tokens: int, new_tokens: int, max_context: int | None) -> str | None:
    """The error for a prompt that does not fit the judge's context window, else None.

    A judge prompt is never truncated silently: the judge would read a different prompt than the
    one recorded, so the request fails with this message and the rest of the batch goes on.
    """
    if max_context and prompt_tokens + new_tokens > max_context:
        return (f"{CONTEXT_EXCEEDED}: prompt is {prompt_tokens} tokens + {new_tokens} to generate, over {name}'s "
                f"context of {max_context} tokens")
    return None
