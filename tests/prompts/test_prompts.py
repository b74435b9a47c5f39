"""Byte-exactness of the judge prompts against docs/formats.md §1 and §3.

The expected prompts are written out here as independent literals (copied from the spec text),
never built from judgelm.prompts.templates, so a typo in the templates cannot hide itself.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from judgelm.prompts import PromptError, default_mode, render, scoring_shape
from judgelm.schema import Answer, Sample, Turn
from support import PANDALM_TEST_FIRST_PROMPT

SYSTEM = "You are a helpful and precise assistant for checking the quality of the answer."

INSTRUCTION_2 = """We would like to request your feedback on the performance of two AI assistants in response to the user question displayed above.
Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance.
Please first output a single line containing only two values indicating the scores for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment."""

INSTRUCTION_3 = """We would like to request your feedback on the performance of three AI assistants in response to the user question displayed above.
Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance.
Please first output a single line containing only three values indicating the scores for Assistant 1, 2 and 3, respectively. The three scores are separated by a space. In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment."""

INSTRUCTION_4 = """We would like to request your feedback on the performance of four AI assistants in response to the user question displayed above.
Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant receives an overall score on a scale of 1 to 10, where a higher score indicates better overall performance.
Please first output a single line containing only four values indicating the scores for Assistant 1, 2, 3 and 4, respectively. The four scores are separated by a space. In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment."""

INSTRUCTION_VQA = """We would like to request your feedback on the performance of two AI assistants' answers in comparing with the reference answer and determine if they match meaningfully. Please rate the helpfulness, relevance, accuracy, level of details of the Assistants' answers. To accomplish the task, you must : 1. Focus on the meaningful match between the reference answer and the Assistants' answers.
 2. Consider synonyms or paraphrases as valid matches.
 3. Evaluate the correctness of the Assistants' answers compared to the reference answer.
 4. If there are multiple reference answers, the Assistants' answer is considered correct as long as it is close to any of the answers.
Please first output a single line containing only two values indicating the scores for Assistant 1 and 2, respectively. The two scores are separated by a space. In the subsequent line, please provide a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the order in which the responses were presented does not affect your judgment."""

PAIR = Sample(
    id="q1",
    question="What is the capital of Australia?",
    answers=[Answer(text="Canberra."), Answer(text="Sydney, the largest city.\nIt has a harbour.")],
    reference="Canberra is the capital of Australia.",
)


def test_pair_without_reference() -> None:
    expected = (
        "You are a helpful and precise assistant for checking the quality of the answer.\n"
        "[Question]\nWhat is the capital of Australia?\n\n"
        "[The Start of Assistant 1's Answer]\nCanberra.\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nSydney, the largest city.\nIt has a harbour.\n\n"
        "[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_2 + "\n\n"
        "### Response:"
    )
    assert render(PAIR) == expected


def test_pair_with_reference() -> None:
    expected = (
        SYSTEM + "\n"
        "[Question]\nWhat is the capital of Australia?\n\n"
        "[Reference Answer]\nCanberra is the capital of Australia.\n\n"
        "[The Start of Assistant 1's Answer]\nCanberra.\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nSydney, the largest city.\nIt has a harbour.\n\n"
        "[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_2 + "\n\n### Response:"
    )
    assert render(PAIR, reference=True) == expected


def test_pair_swapped_order() -> None:
    swapped = render(PAIR, order=[1, 0])
    assert swapped == render(PAIR.reordered([1, 0]))
    assert "[The Start of Assistant 1's Answer]\nSydney, the largest city.\nIt has a harbour.\n\n" in swapped
    assert "[The Start of Assistant 2's Answer]\nCanberra.\n\n[The End of Assistant 2's Answer]" in swapped
    assert render(PAIR, order=[0, 1]) == render(PAIR)


def _multi(n: int) -> Sample:
    return Sample(id="m", question="Name a colour.", answers=[Answer(text=f"colour {k}") for k in range(1, n + 1)])


def test_three_answers() -> None:
    expected = (
        SYSTEM + "\n[Question]\nName a colour.\n\n"
        "[The Start of Assistant 1's Answer]\ncolour 1\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\ncolour 2\n\n[The End of Assistant 2's Answer]\n\n"
        "[The Start of Assistant 3's Answer]\ncolour 3\n\n[The End of Assistant 3's Answer]\n\n"
        "[System]\n" + INSTRUCTION_3 + "\n\n### Response:"
    )
    assert render(_multi(3), mode="multi") == expected


def test_four_answers_swapped() -> None:
    expected = (
        SYSTEM + "\n[Question]\nName a colour.\n\n"
        "[The Start of Assistant 1's Answer]\ncolour 4\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\ncolour 3\n\n[The End of Assistant 2's Answer]\n\n"
        "[The Start of Assistant 3's Answer]\ncolour 2\n\n[The End of Assistant 3's Answer]\n\n"
        "[The Start of Assistant 4's Answer]\ncolour 1\n\n[The End of Assistant 4's Answer]\n\n"
        "[System]\n" + INSTRUCTION_4 + "\n\n### Response:"
    )
    assert render(_multi(4), mode="multi", order=[3, 2, 1, 0]) == expected


def test_multi_number_words_up_to_nineteen() -> None:
    p19 = render(_multi(19), mode="multi")
    assert "performance of nineteen AI assistants" in p19
    assert "for Assistant 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18 and 19, respectively" in p19
    assert "The nineteen scores" in p19 and " two " not in p19
    assert render(_multi(2), mode="multi") == render(_multi(2), mode="pair")
    with pytest.raises(PromptError, match="2..19"):
        render(_multi(20), mode="multi")


SINGLE = Sample(id="s1", question="Is 91 prime?", answers=[Answer(text="Yes.")], reference="No, 91 = 7 × 13.")


def test_single_anchor_is_reference() -> None:
    expected = (
        SYSTEM + "\n[Question]\nIs 91 prime?\n\n"
        "[The Start of Assistant 1's Answer]\nNo, 91 = 7 × 13.\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nYes.\n\n[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_2 + "\n\n### Response:10"
    )
    assert render(SINGLE, mode="single") == expected
    assert default_mode(SINGLE) == "single"
    assert scoring_shape(SINGLE, "single") == (2, 10.0)


def test_single_with_reference_block() -> None:
    expected = (
        SYSTEM + "\n[Question]\nIs 91 prime?\n\n"
        "[Reference Answer]\nNo, 91 = 7 × 13.\n\n"
        "[The Start of Assistant 1's Answer]\nNo, 91 = 7 × 13.\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nYes.\n\n[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_2 + "\n\n### Response:10"
    )
    assert render(SINGLE, mode="single", reference=True) == expected


def test_single_two_answers_first_is_anchor_and_swappable() -> None:
    two = render(PAIR, mode="single")
    assert two == render(PAIR).removesuffix("### Response:") + "### Response:10"
    swapped = render(PAIR, mode="single", order=[1, 0])
    assert swapped.index("Sydney") < swapped.index("Canberra.")


def test_single_without_anchor_is_an_error() -> None:
    lonely = Sample(id="no-ref-7", question="Q", answers=[Answer(text="A")])
    with pytest.raises(PromptError, match="no-ref-7.*reference"):
        render(lonely, mode="single")


def test_vqa_mmvet() -> None:
    sample = Sample(
        id="v1_3", question="What is the total price for a bottle of Merlot and a bottle of Cabernet?",
        answers=[Answer(text="The total is $498.")], reference="249.98<OR>$249.98<OR>249.98 dollars",
    )
    expected = (
        SYSTEM + "\n[Question]\nWhat is the total price for a bottle of Merlot and a bottle of Cabernet?\n\n"
        "[Reference Answer]\n249.98<OR>$249.98<OR>249.98 dollars\n\n"
        "[The Start of Assistant 1's Answer]\n249.98\n\n[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nThe total is $498.\n\n[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_VQA + "\n\n### Response:10"
    )
    assert render(sample, mode="vqa") == expected
    assert render(sample, mode="vqa", reference=True) == expected  # vqa always shows the gold
    assert scoring_shape(sample, "vqa") == (2, 10.0)


def test_vqa_and_gold() -> None:
    sample = Sample(id="v2", question="Which fruits?", answers=[Answer(text="apple")], reference="apple<AND>pear")
    prompt = render(sample, mode="vqa")
    assert "[Reference Answer]\napple<AND>pear\n\n" in prompt
    assert "[The Start of Assistant 1's Answer]\napple and pear\n\n[The End of Assistant 1's Answer]" in prompt


PANDALM_WITH_INPUT = """Below are two responses for a given task. The task is defined by the Instruction with an Input that provides further context. Evaluate the responses and generate a reference answer for the task.

### Instruction:
Rewrite the sentence to be concise.

### Input:
It is a fact that the meeting was long.

### Response 1:
The meeting was long.

### Response 2:
The meeting ran long.

### Evaluation:
"""

PANDALM_WITHOUT_INPUT = """Below are two responses for a given task. The task is defined by the Instruction. Evaluate the responses and generate a reference answer for the task.

### Instruction:
Rewrite the sentence to be concise.

### Response 1:
The meeting was long.

### Response 2:
The meeting ran long.

### Evaluation:
"""


def _panda(input: str | None, r1: str = "The meeting was long.", r2: str = "The meeting ran long.") -> Sample:
    return Sample(id="p", question="Rewrite the sentence to be concise.", input=input,
                  answers=[Answer(text=r1), Answer(text=r2)])


def test_pandalm_with_input() -> None:
    assert render(_panda("It is a fact that the meeting was long."), template="pandalm") == PANDALM_WITH_INPUT


def test_pandalm_without_input() -> None:
    assert render(_panda(None), template="pandalm") == PANDALM_WITHOUT_INPUT
    assert render(_panda(""), template="pandalm") == PANDALM_WITHOUT_INPUT  # empty input = none


def test_pandalm_cleans_responses_and_swaps() -> None:
    dirty = _panda(None, r1="  <s>The meeting was long.</s> \n", r2="[PAD]\nThe meeting ran long.<|endoftext|>")
    assert render(dirty, template="pandalm") == PANDALM_WITHOUT_INPUT
    swapped = render(_panda(None), template="pandalm", order=[1, 0])
    assert "### Response 1:\nThe meeting ran long.\n\n### Response 2:\nThe meeting was long.\n\n" in swapped


def test_pandalm_rejects_what_it_cannot_show() -> None:
    with pytest.raises(PromptError, match="no reference block"):
        render(_panda(None), template="pandalm", reference=True)
    with pytest.raises(PromptError, match="supports modes pair"):
        render(_panda(None), template="pandalm", mode="single")
    with pytest.raises(PromptError, match="exactly 2 answers"):
        render(_multi(3), template="pandalm")


def test_errors_name_the_sample() -> None:
    no_ref = PAIR.model_copy(update={"reference": None, "id": "row-42"})
    with pytest.raises(PromptError, match="row-42.*reference"):
        render(no_ref, reference=True)
    with pytest.raises(PromptError, match="exactly 2 answers"):
        render(_multi(3), mode="pair")
    with pytest.raises(PromptError, match="not a permutation"):
        render(PAIR, order=[0, 0])
    with pytest.raises(PromptError, match="unknown template"):
        render(PAIR, template="gpt")


# ---------------------------------------------------------------- multi-turn history and input


def test_history_and_input_policy() -> None:
    sample = Sample(
        id="mt", question="And in miles?", input="Use 1 km = 0.621371 mi.",
        history=[Turn(role="user", content="How far is 5 km?"), Turn(role="assistant", content="5 km.")],
        answers=[Answer(text="3.1 miles."), Answer(text="8 miles.")],
    )
    prompt = render(sample)
    question = (
        "[Question]\n### User:\nHow far is 5 km?\n\n### Assistant:\n5 km.\n\n### User:\nAnd in miles?"
        "\n\nUse 1 km = 0.621371 mi.\n\n[The Start of Assistant 1's Answer]"
    )
    assert question in prompt
    panda = render(sample, template="pandalm")
    assert ("### Instruction:\n### User:\nHow far is 5 km?\n\n### Assistant:\n5 km.\n\n### User:\nAnd in miles?"
            "\n\n### Input:\nUse 1 km = 0.621371 mi.\n\n### Response 1:\n3.1 miles.\n\n") in panda


def test_no_history_renders_question_unchanged() -> None:
    assert "[Question]\nWhat is the capital of Australia?\n\n[The Start" in render(PAIR)


# ---------------------------------------------------------------- the spec itself, and real rows


def test_instructions_match_formats_md(shared_data: Path) -> None:
    """Cross-check against the code blocks of the shared spec (../shared/spec/FORMATS.md) itself (guards the literals above)."""
    spec = shared_data.parent / "spec" / "FORMATS.md"
    if not spec.is_file():
        pytest.skip(f"{spec} not found")
    blocks = re.findall(r"```\n(.*?)```", spec.read_text(encoding="utf-8"), re.S)
    body, instr, instr_vqa, panda = blocks[:4]
    assert instr.rstrip("\n") == INSTRUCTION_2
    assert instr_vqa.rstrip("\n") == INSTRUCTION_VQA
    assert panda == PANDALM_WITH_INPUT.replace("Rewrite the sentence to be concise.", "{instruction}").replace(
        "It is a fact that the meeting was long.", "{input}").replace(
        "The meeting was long.", "{response1}").replace("The meeting ran long.", "{response2}")
    filled = body.format(question=PAIR.question, answer_1=PAIR.answers[0].text, answer_2=PAIR.answers[1].text,
                         instruction=INSTRUCTION_2)
    assert render(PAIR) == SYSTEM + "\n" + filled + "### Response:"


def test_pandalm_testset_row0(shared_data: Path) -> None:
    row = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))[0]
    assert row["idx"] == 0
    sample = Sample(id=str(row["idx"]), question=row["instruction"], input=row["input"],
                    answers=[Answer(text=row["response1"]), Answer(text=row["response2"])])
    expected = PANDALM_TEST_FIRST_PROMPT
    assert render(sample, template="pandalm") == expected


def test_pandalm_testset_all_rows_render(shared_data: Path) -> None:
    """Every real row renders, and no real text trips the injection guard (benign = unchanged)."""
    rows = json.loads((shared_data / "pandalm" / "testset-v1.json").read_text(encoding="utf-8"))
    for row in rows:
        answers = [Answer(text=str(row["response1"])), Answer(text=str(row["response2"]))]
        sample = Sample(id=str(row["idx"]), question=row["instruction"], input=row["input"], answers=answers)
        prompt = render(sample, template="pandalm")
        assert prompt.count("### Response 1:\n") == 1 and prompt.count("### Response 2:\n") == 1
        assert row["instruction"] in prompt
        assert ("### Input:\n" in prompt) == bool(row["input"])
        assert render(sample, order=[1, 0]).count("[The End of Assistant 2's Answer]") == 1


def test_examples_pairs_native_rows(examples_dir: Path) -> None:
    """examples/pairs.jsonl (JudgeLM native: answerN_body, reference.text) renders with its reference."""
    lines = (examples_dir / "pairs.jsonl").read_text(encoding="utf-8").splitlines()
    row = json.loads(lines[0])
    sample = Sample(id=str(row["question_id"]), question=row["question_body"], reference=row["reference"]["text"],
                    answers=[Answer(text=row["answer1_body"]), Answer(text=row["answer2_body"])])
    expected = (
        SYSTEM + "\n[Question]\nWhat is the capital of Australia?\n\n"
        "[Reference Answer]\nCanberra is the capital of Australia.\n\n"
        "[The Start of Assistant 1's Answer]\nThe capital of Australia is Canberra. It was purpose-built as a "
        "compromise between Sydney and Melbourne and has been the seat of government since 1927.\n\n"
        "[The End of Assistant 1's Answer]\n\n"
        "[The Start of Assistant 2's Answer]\nSydney.\n\n[The End of Assistant 2's Answer]\n\n"
        "[System]\n" + INSTRUCTION_2 + "\n\n### Response:"
    )
    assert render(sample, reference=True) == expected


def test_template_text_lives_in_one_place() -> None:
    """The template strings exist once in the package: prompts/templates.py (never duplicated)."""
    src = Path(__file__).resolve().parents[2] / "src" / "judgelm"
    needles = ("precise assistant for checking the quality", "Below are two responses for a given task",
               "We would like to request your feedback", "of two AI assistants", "### Evaluation:\\n")
    holders = {str(p.relative_to(src)) for p in src.rglob("*.py")
               if any(n in p.read_text(encoding="utf-8") for n in needles)}
    assert holders == {"prompts/templates.py"}
