"""AlpacaEval annotation files (``results/<model>/<annotator>/annotations.json``).

``preference``: 1 → answer 1, 2 → answer 2, 1.5 or 0 → tie (0), null → no verdict (None).
Answer models come from ``generator_1/2``; ``dataset`` and ``annotator`` go to metadata, so
users can leave out e.g. the ``selfinstruct`` rows (also possible with the
``exclude_datasets`` option). Ids are a hash of instruction + both generators: stable across
runs and unique across the 52 files of a ``results/`` folder. A folder is read whole
(every ``annotations.json`` below it). Without ``preference`` (AlpacaEval's model outputs
paired for judging, no annotator yet) a row is unlabelled: ``gold = None``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from judgelm.data.errors import Dropped
from judgelm.data.records import Row
from judgelm.data.registry import Converter, Format, register, stable_id
from judgelm.schema import Answer, Gold, Sample

_PREFERENCE = {1.0: 1, 2.0: 2, 1.5: 0, 0.0: 0}


def gold(row: Row, source: str) -> Gold | None:
    """The annotator's verdict; None for a row without a ``preference`` field (unlabelled)."""
    if not row.has("preference"):
        return None
    return Gold(verdict=gold_verdict(row), source=source)


def gold_verdict(row: Row) -> int | None:
    value = row.get("preference")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) not in _PREFERENCE:
        raise row.error("preference", f"expected 1, 2, 1.5, 0 or null, got {value!r}")
    return _PREFERENCE[float(value)]


def _as_set(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {v.strip() for v in value.split(",") if v.strip()}
    return set(value)


@register
class AlpacaEvalFormat(Format):
    name = "alpaca_eval"
    description = "AlpacaEval annotations.json (instruction, output_1/2, generator_1/2, preference); file or results/ folder"
    options = {
        "exclude_datasets": "leave out rows of these AlpacaEval subsets (e.g. 'selfinstruct')",
        "datasets": "keep only rows of these subsets",
    }
    folder_glob = "**/annotations.json"
    labels = "preference"

    def matches(self, first: dict[str, Any]) -> bool:
        return {"output_1", "output_2", "generator_1", "generator_2"} <= first.keys()

    def converter(self, path: Path, **opts: Any) -> Converter:
        exclude = _as_set(opts.get("exclude_datasets"))
        keep = _as_set(opts.get("datasets"))

        def to_sample(row: Row) -> Sample:
            dataset = row.opt_text("dataset")
            if dataset in exclude or (keep and dataset not in keep):
                raise Dropped(f"dataset {dataset!r} excluded")
            instruction = row.text("instruction")
            g1, g2 = row.text("generator_1"), row.text("generator_2")
            meta = {"dataset": dataset, "annotator": row.opt_text("annotator"), "preference": row.get("preference")}
            if "datasplit" in row.data:
                meta["datasplit"] = row.data["datasplit"]
            return Sample(
                id=stable_id(instruction, g1, g2),
                question=instruction,
                answers=[Answer(text=row.text("output_1"), model=g1), Answer(text=row.text("output_2"), model=g2)],
                gold=gold(row, meta["annotator"] or "alpaca_eval"),
                metadata=meta,
            )

        return to_sample
