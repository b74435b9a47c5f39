"""Parsing judge outputs: JudgeLM score lines, PandaLM verdicts, "[[k]]" ratings.

Unparsable output must come back ok=False (a recorded state), never as a tie.
"""

from __future__ import annotations

import collections
import glob
import json
from pathlib import Path

import pytest

from judgelm.prompts.parsing import Parsed, parse_judgelm, parse_pandalm, parse_rating

# ------------------------------------------------------------------------------ JudgeLM


@pytest.mark.parametrize("text, scores, verdict", [
    ("8 7", [8.0, 7.0], 1),
    ("8, 7", [8.0, 7.0], 1),
    ("8,7", [8.0, 7.0], 1),
    ("8.5 7", [8.5, 7.0], 1),
    ("10 9", [10.0, 9.0], 1),
    ("3 9", [3.0, 9.0], 2),
    ("7 7", [7.0, 7.0], 0),
    ("   6 8  ", [6.0, 8.0], 2),
    ("\n8 7", [8.0, 7.0], 1),
    ("0 10", [0.0, 10.0], 2),
])
def test_judgelm_score_lines(text: str, scores: list[float], verdict: int) -> None:
    parsed = parse_judgelm(text)
    assert parsed == Parsed(ok=True, scores=scores, verdict=verdict, explanation=None)


def test_judgelm_explanation_is_everything_after_the_first_line() -> None:
    text = "8 3\nAssistant 1 is accurate.\n\nAssistant 2 names Sydney, which is wrong.\n"
    parsed = parse_judgelm(text)
    assert parsed.ok and parsed.scores == [8.0, 3.0] and parsed.verdict == 1
    assert parsed.explanation == "Assistant 1 is accurate.\n\nAssistant 2 names Sydney, which is wrong."


def test_judgelm_n_scores() -> None:
    parsed = parse_judgelm("7 9 4 9\nexpl", n_answers=4)
    assert parsed.ok and parsed.scores == [7.0, 9.0, 4.0, 9.0] and parsed.verdict == 0  # shared max = tie
    parsed = parse_judgelm("7, 9, 4\nexpl", n_answers=3)
    assert parsed.ok and parsed.verdict == 2


def test_judgelm_pinned_first() -> None:
    # the prompt ended "### Response:10": the model continues " 7\n…"
    parsed = parse_judgelm(" 7\nThe answer is mostly right.", pinned_first=10)
    assert parsed.ok and parsed.scores == [10.0, 7.0] and parsed.verdict == 1
    assert parsed.explanation == "The answer is mostly right."
    assert parse_judgelm(" 10\n", pinned_first=10).scores == [10.0, 10.0]
    assert parse_judgelm("10 7\nx", pinned_first=10).scores == [10.0, 7.0]  # engine echoed the pinned score
    assert not parse_judgelm("9 7\nx", pinned_first=10).ok  # two scores, and the first is not the pinned one
    assert not parse_judgelm(" 7 6 5", pinned_first=10).ok


@pytest.mark.parametrize("text", [
    "", "   ", "garbage", "error", "8\nonly one score", "8 7 6", "Assistant 1: 8, Assistant 2: 7",
    "8/10 7/10", "11 7", "8 -1", "8 7.", "eight seven", "8 nan", "Tie",
])
def test_judgelm_unparsable_is_recorded_not_a_tie(text: str) -> None:
    parsed = parse_judgelm(text)
    assert parsed.ok is False
    assert parsed.scores is None and parsed.verdict is None
    assert parsed.error


def test_judgelm_unparsed_keeps_explanation() -> None:
    parsed = parse_judgelm("Scores: eight and seven\nAssistant 1 is better.")
    assert not parsed.ok and parsed.explanation == "Assistant 1 is better."
    assert "first line" in (parsed.error or "")


# ------------------------------------------------------------------------------ PandaLM


@pytest.mark.parametrize("text, verdict", [
    ("1", 1), ("2", 2), ("Tie", 0), ("tie", 0), (" TIE \n", 0), ("\n2\n\n### Reason: x", 2),
])
def test_pandalm_verdicts(text: str, verdict: int) -> None:
    parsed = parse_pandalm(text)
    assert parsed.ok and parsed.verdict == verdict and parsed.scores is None


def test_pandalm_reason_and_reference() -> None:
    text = ("2\n\n### Reason: Response 2 is more concise.\n\n"
            "### Reference: If you have any questions, please let me know.</s>")
    parsed = parse_pandalm(text)
    assert parsed.ok and parsed.verdict == 2
    assert parsed.explanation == "Response 2 is more concise."
    assert parsed.reference == "If you have any questions, please let me know.</s>"


@pytest.mark.parametrize("text", ["", "garbage", "3", "1 2", "Response 1", "Both are good.\n### Reason: x"])
def test_pandalm_unparsable(text: str) -> None:
    parsed = parse_pandalm(text)
    assert parsed.ok is False and parsed.verdict is None and parsed.error


def _panda_text(result: str, reason: str, reference: str) -> str:
    """A recorded PandaLM-format judgement, laid out as the model writes it (docs/formats.md §3)."""
    return f"{result}\n\n### Reason: {reason}\n\n### Reference: {reference}"


def test_recorded_gpt35_pandalm_outputs(shared_data: Path) -> None:
    rows = json.loads((shared_data / "pandalm" / "gpt-3.5-turbo-testset-v1.json").read_text(encoding="utf-8"))
    counts: collections.Counter[object] = collections.Counter()
    for row in rows:
        parsed = parse_pandalm(_panda_text(row["gpt_result"], row["gpt_reason"], row["gpt_reference"]))
        if row["gpt_result"] == "garbage":
            assert not parsed.ok and parsed.verdict is None
        else:
            assert parsed.ok and parsed.verdict == {"1": 1, "2": 2, "Tie": 0}[row["gpt_result"]]
            assert parsed.explanation == (row["gpt_reason"].strip() or None)
            assert parsed.reference == (row["gpt_reference"].strip() or None)
        counts[parsed.verdict] += 1
    assert counts == {2: 476, 1: 460, 0: 38, None: 25}


def test_recorded_pandalm7b_outputs(shared_data: Path) -> None:
    rows = json.loads((shared_data / "pandalm" / "pandalm-7b-testset-v1.json").read_text(encoding="utf-8"))
    for row in rows:
        first = {0: "Tie", 1: "1", 2: "2"}[row["pandalm_result"]]
        parsed = parse_pandalm(_panda_text(first, row["pandalm_reason"], row["pandalm_reference"]))
        assert parsed.ok and parsed.verdict == row["pandalm_result"]
        assert parsed.explanation == (row["pandalm_reason"].strip() or None)


# ------------------------------------------------------------------------------ [[k]] ratings


def test_rating_forms() -> None:
    assert parse_rating("Good answer.\n\nRating: [[7]]").scores == [7.0]
    assert parse_rating("I would rate it [[ 9.5 ]] out of 10.").scores == [9.5]
    code = "x = [[1, 2], [3, 4]]\n\nRating: [[8]]"
    assert parse_rating(code).scores == [8.0]  # non-numeric [[…]] (code) is skipped, last mark counts
    for bad in ("Rating: 7", "Rating: [[seven]]", "Rating: [[11]]", "Rating: [[0]]", ""):
        parsed = parse_rating(bad)
        assert not parsed.ok and parsed.scores is None and parsed.error
    assert parse_rating("[[4]]", low=1, high=5).ok and not parse_rating("[[6]]", low=1, high=5).ok


def test_recorded_arena_bench_judgments(shared_data: Path) -> None:
    """Every arena-hard judgment with a recorded score parses to that score."""
    files = sorted(glob.glob(str(shared_data / "arena_bench_v1" / "model_judgment" / "*.jsonl")))
    assert files
    n_scored = unparsed = decimal = 0
    for path in files:
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            parsed = parse_rating(row["judgment"] or "")
            if row["score"] is not None:
                n_scored += 1
                assert parsed.ok and parsed.scores == [float(row["score"])], (path, row["question_id"])
            elif parsed.ok:  # the original pattern only read whole numbers: "[[9.5]]" was recorded as null
                decimal += 1
                assert parsed.scores is not None and parsed.scores[0] % 1 != 0
            else:
                unparsed += 1
    assert (n_scored, decimal, unparsed) == (4461, 4, 35)


def test_recorded_autoj_critiques(shared_data: Path) -> None:
    lines = (shared_data / "autoj" / "single_traindata.jsonl").read_text(encoding="utf-8").splitlines()
    for line in lines:
        row = json.loads(line)
        parsed = parse_rating(row["target_output"])
        assert parsed.ok and parsed.scores == [float(row["pred_score"])]
    assert len(lines) == 960
