"""LLMBar (``LLMBar/Natural``, ``LLMBar/Adversarial/*``, ``Processed/*``, ``CaseStudy/*``):
``dataset.json`` arrays of ``{input, output_1, output_2, label}``; ``label`` 1 or 2 (human,
ties removed). Ids are ``<subset>/<element index>``, the subset being the folder path
(e.g. ``LLMBar/Natural``), also kept in ``metadata.subset``. ``label`` is optional: a row
without it (``{input, output_1, output_2}``) is an unlabelled pair (``gold = None``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register
from judgelm.schema import Answer, Gold, Sample


def subset_name(path: Path) -> str:
    """``…/llmbar/Processed/FairEval/dataset.json`` → ``Processed/FairEval``."""
    return "/".join(path.parent.parts[-2:])


@register
class LLMBarFormat(Format):
    name = "llmbar"
    description = "LLMBar dataset.json (input, output_1, output_2, label 1/2 optional); file or folder"
    labels = "label"
    folder_glob = "**/dataset.json"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"input", "output_1", "output_2"} <= first.keys() and "generator_1" not in first

    def converter(self, path: Path, **opts: Any) -> Converter:
        subset = subset_name(path)

        def to_sample(row: Row) -> Sample:
            label = row.get("label")
            if label is not None and (isinstance(label, bool) or label not in (1, 2)):
                raise row.error("label", f"expected 1 or 2, got {label!r}")
            return Sample(
                id=f"{subset}/{row.loc.line}",
                question=row.text("input"),
                answers=[Answer(text=row.text("output_1")), Answer(text=row.text("output_2"))],
                gold=None if label is None else Gold(verdict=int(label), source="human"),
                metadata={"subset": subset},
            )

        return to_sample
