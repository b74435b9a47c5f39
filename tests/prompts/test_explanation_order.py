"""Explanations in the user's answer order (issue 27): after a swap the judge's "Assistant k"
names the answer by its ORIGINAL number, so explanation, scores and verdict agree; the judge's own
text stays in ``raw``."""

from __future__ import annotations

import json
import re
from pathlib import Path

from support import run_cli

from judgelm.prompts.relabel import to_original_order


def test_numbers_map_back_all_at_once() -> None:
    text = "Assistant 1 is vague; Assistant 2 is exact, and assistant 3 adds nothing. Assistant 12 is not there."
    assert to_original_order(text, [1, 0, 2]) == (
        "Assistant 2 is vague; Assistant 1 is exact, and assistant 3 adds nothing. Assistant 12 is not there.")
    assert to_original_order(text, [2, 0, 1]).startswith("Assistant 3 is vague; Assistant 1 is exact, and assistant 2")
    assert to_original_order("### Reason: Response 2 is better than Response 1.", [1, 0], "pandalm") == (
        "### Reason: Response 1 is better than Response 2.")
    assert to_original_order(text, [0, 1, 2]) == text  # original order: untouched


def test_swapped_real_pairs_explain_in_original_order(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "swapped.jsonl"
    res = run_cli("judge", shared_data / "pandalm" / "testset-v1.json", "--limit", "16", "--swap", "--explain",
                  "-o", out, "--no-progress")
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    swapped = [r for r in rows if r["order"] == [1, 0]]
    assert len(swapped) == 16
    checked = 0
    for r in rows:
        said = re.match(r"Assistant (\d) is preferred", r["explanation"] or "")
        if r["verdict"] in (1, 2) and said:
            assert int(said.group(1)) == r["verdict"], r  # the explanation names the winner as the verdict does
            presented = re.search(r"Assistant (\d) is preferred", r["raw"])
            assert presented is not None
            if r["order"] == [1, 0]:  # the raw text speaks in the presented order
                assert int(presented.group(1)) == 3 - r["verdict"]
                assert r["metadata"]["explanation_order"] == "original"
            checked += 1
    assert checked >= 16
