"""Server settings: one object so the CLI, the tests and the app agree on names and defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from judgelm.judging.settings import JudgeSettings

#: environment variable holding comma-separated API keys (used when --api-key is not given)
API_KEY_ENV = "JUDGELM_API_KEYS"


@dataclass
class ServeSettings:
    """Everything create_app needs besides the engine."""

    host: str = "127.0.0.1"
    port: int = 8000
    #: accepted API keys; empty = no authentication
    api_keys: list[str] = field(default_factory=list)
    #: judging defaults for requests that do not say (a request may override per call): JudgeSettings' own,
    #: the same as ``judgelm judge``'s, unless the operator changes them (``judgelm serve --explain`` …)
    template: str = JudgeSettings.template
    fast: bool = JudgeSettings.fast  # scores only unless a request (or the operator) asks for explanations
    max_new_tokens: int | None = JudgeSettings.max_new_tokens  # None: 16 fast, 512 explained
    #: limits
    max_body_bytes: int = 1_000_000  # JSON requests (413 above)
    max_upload_bytes: int = 50_000_000  # JSONL job bodies/uploads (413 above)
    max_answers: int = 10  # answers per sample (422 above)
    max_job_samples: int = 100_000  # samples per job (413 above)
    max_new_tokens_limit: int = 2048  # per-request generation cap (422 above)
    max_queue: int = 256  # judge prompts waiting for the engine (429 above)
    #: dynamic batching
    max_batch: int = 0  # 0 = the engine's preferred_batch_size
    batch_wait_ms: float = 5.0
    #: test knob: sleep this long before every engine call (makes jobs slow enough to interrupt)
    batch_delay_s: float = 0.0
    #: batch jobs
    jobs_db: Path = Path("judgelm-jobs.sqlite")
    job_chunk: int = 0  # samples per job step; 0 = max_batch
    #: CORS: empty = off (no CORS headers at all)
    cors_origins: list[str] = field(default_factory=list)
    #: gradio UI under /ui
    ui: bool = True
    #: model name the OpenAI-protocol endpoints report (defaults to the engine name)
    model_name: str | None = None

    @staticmethod
    def keys_from_env() -> list[str]:
        """API keys from $JUDGELM_API_KEYS (comma-separated)."""
        return [k.strip() for k in os.environ.get(API_KEY_ENV, "").split(",") if k.strip()]
