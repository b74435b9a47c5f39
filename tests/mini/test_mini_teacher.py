"""The built-in judge's teacher rows, read through the data layer's readers (mini/teacher.py).

The counts and hashes below were taken from the teacher's own readers before they were replaced by
``judgelm.data``'s: any change in which rows mini (and the reading judge, which builds on them)
learns from changes a hash here, and the shipped models could no longer be reproduced.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import pytest

from judgelm.data.errors import DataError
from judgelm.mini.teacher import arena_items, load_alpaca_eval, load_arena_grades, load_autoj


def rows_hash(rows: list) -> str:
    """A short hash of rows (TeacherItems or tuples) that changes with any field or the order."""
    plain = [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else list(r) for r in rows]
    return hashlib.sha256(json.dumps(plain, sort_keys=True).encode()).hexdigest()[:16]


def test_teacher_rows_are_the_recipes_rows(shared_data: Path) -> None:
    """Same rows, same order, same labels as the recipe that trained the shipped mini judge."""
    grades = load_arena_grades(shared_data)
    got = {
        "alpaca_default": load_alpaca_eval(shared_data, None, ("selfinstruct",)),
        "alpaca_reading": load_alpaca_eval(shared_data, None, ("selfinstruct", "vicuna")),
        "alpaca_7b": load_alpaca_eval(shared_data, models=["alpaca-7b"]),
        "arena_grades": grades,
        "arena_items": arena_items(grades, 30, 0, reference_share=0.0),
        "arena_items_mini": arena_items(grades, 12, 0),
        "autoj": load_autoj(shared_data),
    }
    expected = {
        "alpaca_default": (28721, "d2424c04d05c19af"),
        "alpaca_reading": (24566, "6caa092658d8bfdf"),
        "alpaca_7b": (553, "d8f4ac46c400024b"),
        "arena_grades": (4461, "d9c421dd98e1f273"),
        "arena_items": (13461, "b44993786f58e4f8"),
        "arena_items_mini": (8061, "6371550454ddd3f0"),
        "autoj": (960, "40a96167e4d7891a"),
    }
    assert {k: (len(v), rows_hash(v)) for k, v in got.items()} == expected


def test_recipe_and_reading_head_items_are_unchanged(shared_data: Path) -> None:
    """mini's training items (recipe.yaml) and the reading judge's head pairs built on them."""
    from judgelm.mini.train import MiniTrainConfig, collect_items
    from judgelm.reading.teacher import HeadDataConfig, head_items

    cfg = MiniTrainConfig.from_yaml(Path(__file__).resolve().parents[2] / "src/judgelm/mini/recipe.yaml")
    cfg.data_dir = str(shared_data)
    items = collect_items(cfg)
    head = head_items(HeadDataConfig(data_dir=str(shared_data)), embed=None)
    assert (len(items), rows_hash(items)) == (18670, "90cde7e15e4e29a7")
    assert (len(head), rows_hash(head)) == (897, "4fedb1311c0d5fc0")


def test_a_bad_teacher_row_is_a_data_error_naming_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "alpaca_eval_gpt4" / "results" / "m" / "alpaca_eval_gpt4"
    folder.mkdir(parents=True)
    row = {"instruction": "q", "output_1": "a", "output_2": "b", "generator_1": "x", "generator_2": "y",
           "dataset": "helpful_base", "preference": "left"}
    (folder / "annotations.json").write_text(json.dumps([row]))
    with pytest.raises(DataError) as err:
        load_alpaca_eval(tmp_path)
    assert err.value.field == "preference" and err.value.file.endswith("annotations.json")
    with pytest.raises(DataError, match="file not found"):
        load_autoj(tmp_path)
