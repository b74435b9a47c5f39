"""One judging run's choices: :class:`JudgeSettings`, made once and handed whole to every runner.

Why one object: the same choices (template, mode, reference, both orders, fast, generation length,
rubric) used to travel as seven loose arguments through the CLI, the library face, the runners,
the server's options and its job rows, each with its own defaults. Now they are made ONCE — from
``judgelm judge`` flags, ``Judge(...)`` keywords or an HTTP body — and every layer reads the same
frozen object, with one set of defaults (the class defaults below; docs/judging.md "Settings").

Below the runner, the server and the cascade (it imports only ``prompts``), so none of them
imports another to share it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from judgelm.prompts.prometheus import RUBRIC_TEMPLATES, resolve_template
from judgelm.prompts.render import MODES, TEMPLATES
from judgelm.prompts.rubric import Rubric, RubricError, as_rubric, rubric_from_dict

#: generation length when none is given: a score line only (fast) / with an explanation
DEFAULT_MAX_NEW_TOKENS = {True: 16, False: 512}


class SettingsError(ValueError):
    """A settings value that cannot work; the message names the field (``field 'fast': …``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field {field!r}: {message}")
        self.field = field


@dataclass(frozen=True)
class JudgeSettings:
    """How to judge: the per-run choices, with the ONE set of defaults that the CLI, ``Judge`` and the
    HTTP API share.

    * ``template`` — ``judgelm`` | ``pandalm`` | ``prometheus-absolute`` | ``prometheus-relative``; with a
      ``rubric`` and ``judgelm`` (the default) it becomes ``prometheus-absolute``.
    * ``mode`` — ``pair`` | ``single`` | ``multi`` | ``vqa``; None: inferred per sample (1 answer single,
      2 pair, more multi).
    * ``reference`` — show the reference answer to the judge (vqa always shows it).
    * ``both_orders`` — judge every sample in its order and reversed (``--swap``), for consistency.
    * ``fast`` — scores only (a short line: the cheap way to judge a data set); False: with explanation.
    * ``max_new_tokens`` — generation length; None: 16 when fast, 512 with an explanation.
    * ``rubric`` — prometheus-* templates: the criteria (None: each sample's own rubric). A path or a
      mapping (as in a rubric file) is read into a :class:`~judgelm.prompts.rubric.Rubric`.
    """

    template: str = "judgelm"
    mode: str | None = None
    reference: bool = False
    both_orders: bool = False
    fast: bool = True
    max_new_tokens: int | None = None
    rubric: Rubric | None = None

    def __post_init__(self) -> None:
        if self.rubric is not None and not isinstance(self.rubric, Rubric):
            object.__setattr__(self, "rubric", as_rubric(self.rubric))
        object.__setattr__(self, "template", resolve_template(self.template, self.rubric))

    @property
    def generation_length(self) -> int:
        """``max_new_tokens``, or the default for ``fast`` (rubric grades always come after feedback)."""
        fast = self.fast and not self.is_rubric
        return self.max_new_tokens or DEFAULT_MAX_NEW_TOKENS[fast]

    @property
    def is_rubric(self) -> bool:
        """Whether this run grades against rubric criteria (one request per order and criterion)."""
        return self.template in RUBRIC_TEMPLATES

    def replace(self, **changes: Any) -> JudgeSettings:
        """A copy with ``changes`` (the object itself is frozen: one run, one set of choices)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the HTTP response's ``options``, a job row in SQLite."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        d["rubric"] = None if self.rubric is None else self.rubric.to_dict()
        return d

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JudgeSettings:
        """The inverse of :meth:`to_dict` (an HTTP body's fields, a stored job row), checked field by field:
        a missing field takes its default; an unknown or ill-typed one raises :class:`SettingsError` naming it."""
        if not isinstance(data, Mapping):
            raise SettingsError("settings", f"expected a mapping, got {type(data).__name__}")
        known = [f.name for f in fields(cls)]
        for key in data:
            if key not in known:
                raise SettingsError(str(key), f"unknown setting; known: {', '.join(known)}")
        values = {k: _checked(k, v) for k, v in data.items()}
        return cls(**values)

    @classmethod
    def split(cls, options: Mapping[str, Any]) -> tuple[JudgeSettings, dict[str, Any]]:
        """(settings, the rest) from one mixed keyword mapping — judging choices next to run options such as
        ``cache`` — as the cascade's stage settings carry them. ``swap`` is read as ``both_orders``."""
        names = {f.name for f in fields(cls)}
        rest = {k: v for k, v in options.items() if k not in names and k != "swap"}
        chosen = {k: v for k, v in options.items() if k in names}
        if "swap" in options:
            chosen["both_orders"] = options["swap"]
        return cls(**chosen), rest


def _checked(name: str, value: Any) -> Any:
    """One field of :meth:`JudgeSettings.from_dict`, type-checked (a clear error beats a late TypeError)."""
    if name in ("reference", "both_orders", "fast"):
        if not isinstance(value, bool):
            raise SettingsError(name, f"expected true or false, got {value!r}")
        return value
    if name == "template":
        known = [*TEMPLATES, *RUBRIC_TEMPLATES]
        if value not in known:
            raise SettingsError(name, f"unknown template {value!r}; known: {', '.join(known)}")
        return value
    if name == "mode":
        if value is not None and value not in MODES["judgelm"]:
            raise SettingsError(name, f"unknown mode {value!r}; known: {', '.join(MODES['judgelm'])}")
        return value
    if name == "max_new_tokens":
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise SettingsError(name, f"expected a positive integer or null, got {value!r}")
        return value
    if name == "rubric":
        if value is None or isinstance(value, Rubric):
            return value
        try:
            return rubric_from_dict(value, source="rubric")
        except RubricError as exc:
            raise SettingsError(name, str(exc)) from None
    return value
