"""Rows of a Hugging Face dataset (hub id, or a local folder/file ``datasets`` can load).

Uses the real ``datasets.load_dataset`` code path (config, split, revision, data_files),
then hands each row to the same format detection / column mapping as local files. Row
positions in errors are 0-based row indexes (``hf:ID[split]:element 12``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from typing import Any

from judgelm.data.errors import DataError
from judgelm.data.records import Location, Row

logger = logging.getLogger(__name__)

HF_OPTIONS = {
    "split": "dataset split (default: the only split, else 'train' if present)",
    "config": "dataset configuration name",
    "revision": "git revision of the dataset repository",
    "data_files": "data files inside the dataset (as datasets.load_dataset takes them)",
    "cache_dir": "datasets cache folder",
}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def looks_like_hub_id(source: str) -> bool:
    """``owner/name`` (what a user means when such a path does not exist locally)."""
    return bool(_HUB_ID.match(source))


def hf_rows(dataset_id: str, **opts: Any) -> Iterator[Row]:
    """Every row of one split of a dataset, as :class:`Row` objects."""
    import datasets

    split = opts.get("split")
    label = f"hf:{dataset_id}"
    try:
        ds = datasets.load_dataset(
            dataset_id,
            name=opts.get("config"),
            split=split,
            revision=opts.get("revision"),
            data_files=opts.get("data_files"),
            cache_dir=opts.get("cache_dir"),
        )
    except Exception as exc:  # the hub, a missing script, a bad config: all say "cannot load"
        raise DataError(label, None, None, f"cannot load with datasets.load_dataset: {exc}") from exc
    if isinstance(ds, datasets.DatasetDict):
        if len(ds) == 1:
            split, ds = next(iter(ds.items()))
        elif "train" in ds:
            logger.info("%s: no split given, using 'train' (splits: %s)", label, ", ".join(ds))
            split, ds = "train", ds["train"]
        else:
            raise DataError(label, None, None, f"several splits ({', '.join(ds)}); choose one with split=")
    if not isinstance(ds, datasets.Dataset):
        raise DataError(label, None, None, f"unsupported dataset type {type(ds).__name__}")
    where = f"{label}[{split}]" if split else label
    for i, record in enumerate(ds):
        yield Row(dict(record), Location(where, i, "element"))

