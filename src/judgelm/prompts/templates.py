"""The judge prompt texts, byte for byte as the released weights were trained on them.

This module is the ONE place where template text lives (FORMATS.md §1 for JudgeLM, §3 for
PandaLM). Everything else assembles prompts from these pieces; a fine-tuned judge only works
with the exact bytes it saw in training, so edit nothing here without re-reading the spec.
"""

from __future__ import annotations

# --------------------------------------------------------------------------- JudgeLM (§1)
#: A JudgeLM prompt is ``JUDGELM_SYSTEM + "\n" + body + appendix`` (no chat template, no BOS text).
JUDGELM_SYSTEM = "You are a helpful and precise assistant for checking the quality of the answer."

JUDGELM_QUESTION_BLOCK = "[Question]\n{question}\n\n"
JUDGELM_REFERENCE_BLOCK = "[Reference Answer]\n{reference}\n\n"
#: note the blank line *before* the End marker
JUDGELM_ANSWER_BLOCK = "[The Start of Assistant {k}'s Answer]\n{answer}\n\n[The End of Assistant {k}'s Answer]\n\n"
#: the body ends with one blank line after the instruction
JUDGELM_SYSTEM_BLOCK = "[System]\n{instruction}\n\n"

JUDGELM_INSTRUCTION = (
    "We would like to request your feedback on the performance of two AI assistants in response to the"
    " user question displayed above.\n"
    "Please rate the helpfulness, relevance, accuracy, level of details of their responses. Each assistant"
    " receives an overall score on a scale of 1 to 10, where a higher score indicates better overall"
    " performance.\n"
    "Please first output a single line containing only two values indicating the scores for Assistant 1"
    " and 2, respectively. The two scores are separated by a space. In the subsequent line, please provide"
    " a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the"
    " order in which the responses were presented does not affect your judgment."
)

#: MM-Vet style grading of a (multimodal) model's answer against a gold answer.
JUDGELM_VQA_INSTRUCTION = (
    "We would like to request your feedback on the performance of two AI assistants' answers in comparing"
    " with the reference answer and determine if they match meaningfully. Please rate the helpfulness,"
    " relevance, accuracy, level of details of the Assistants' answers. To accomplish the task, you must :"
    " 1. Focus on the meaningful match between the reference answer and the Assistants' answers.\n"
    " 2. Consider synonyms or paraphrases as valid matches.\n"
    " 3. Evaluate the correctness of the Assistants' answers compared to the reference answer.\n"
    " 4. If there are multiple reference answers, the Assistants' answer is considered correct as long as"
    " it is close to any of the answers.\n"
    "Please first output a single line containing only two values indicating the scores for Assistant 1"
    " and 2, respectively. The two scores are separated by a space. In the subsequent line, please provide"
    " a comprehensive explanation of your evaluation, avoiding any potential bias and ensuring that the"
    " order in which the responses were presented does not affect your judgment."
)

#: N >= 3 answers: the word ``two`` becomes the number word, and this phrase is rewritten.
JUDGELM_PAIR_PHRASE = "for Assistant 1 and 2"
NUMBER_WORDS = {
    2: "two", 3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine", 10: "ten",
    11: "eleven", 12: "twelve", 13: "thirteen", 14: "fourteen", 15: "fifteen", 16: "sixteen",
    17: "seventeen", 18: "eighteen", 19: "nineteen",
}
MAX_ANSWERS = max(NUMBER_WORDS)

JUDGELM_APPENDIX = "### Response:"
#: single-answer / VQA grading pins Assistant 1 (the anchor) to this score; the model writes " X\n…".
PINNED_SCORE = 10
JUDGELM_APPENDIX_PINNED = f"### Response:{PINNED_SCORE}"

# --------------------------------------------------------------------------- PandaLM (§3)
PANDALM_WITH_INPUT = (
    "Below are two responses for a given task. The task is defined by the Instruction with an Input that"
    " provides further context. Evaluate the responses and generate a reference answer for the task.\n\n"
    "### Instruction:\n{instruction}\n\n"
    "### Input:\n{input}\n\n"
    "### Response 1:\n{response1}\n\n"
    "### Response 2:\n{response2}\n\n"
    "### Evaluation:\n"
)
PANDALM_WITHOUT_INPUT = (
    "Below are two responses for a given task. The task is defined by the Instruction. Evaluate the"
    " responses and generate a reference answer for the task.\n\n"
    "### Instruction:\n{instruction}\n\n"
    "### Response 1:\n{response1}\n\n"
    "### Response 2:\n{response2}\n\n"
    "### Evaluation:\n"
)
#: removed from responses (after stripping; the result is stripped again)
PANDALM_SPECIAL_TOKENS = (
    "<unk>", "<pad>", "<s>", "</s>", "[PAD]", "<|endoftext|>", "[UNK]", "[CLS]", "[MASK]",
    "<|startofpiece|>", "<|endofpiece|>", "[gMASK]", "[sMASK]",
)

# --------------------------------------------------------------------------- shared (our own)
#: Earlier turns of a multi-turn conversation are rendered into the question text as
#: ``### User:\n…\n\n### Assistant:\n…\n\n`` blocks, and the final question is labelled ``### User:``.
#: (Not part of the released templates: neither judge was trained on multi-turn data.)
HISTORY_TURN = "### {role}:\n{content}\n\n"
HISTORY_FINAL = "### User:\n{content}"
HISTORY_ROLES = {"user": "User", "assistant": "Assistant", "system": "System"}
#: JudgeLM has no input field: a sample's input (context) follows the question after a blank line.
JUDGELM_INPUT_SEPARATOR = "\n\n"

# --------------------------------------------------------------------------- Prometheus (rubric grading)
#: Prometheus' absolute (1-5 grade) and relative (A/B) prompts, as its training and evaluation data hold
#: them (the shared ``prometheus/*.json`` items, prometheus-eval's ``eval/prompts.py`` and the first
#: releases of its library's ``prompts.py``). Later library releases dropped ``Feedback: `` from
#: instruction 3; the trained weights saw it, so it stays. ``{low}``/``{high}`` are 1/5 for the
#: trained prompt; other ranges (custom rubrics) write their own numbers in the same places.
PROMETHEUS_ABSOLUTE_HEAD = (
    "###Task Description:\n"
    "An instruction (might include an Input inside it), a response to evaluate{given}, and a score rubric"
    " representing a evaluation criteria are given.\n"
    "1. Write a detailed feedback that assess the quality of the response strictly based on the given score"
    " rubric, not evaluating in general.\n"
    "2. After writing a feedback, write a score that is an integer between {low} and {high}. You should refer"
    " to the score rubric.\n"
    "3. The output format should look as follows: \"Feedback: (write a feedback for criteria) [RESULT]"
    " (an integer number between {low} and {high})\"\n"
    "4. Please do not generate any other opening, closing, and explanations.\n\n"
)
PROMETHEUS_ABSOLUTE_GIVEN_REF = ", a reference answer that gets a score of {high}"
#: ``{given}`` is empty without a reference: "…, a response to evaluate, and a score rubric …"
PROMETHEUS_ABSOLUTE_BODY = "###The instruction to evaluate:\n{instruction}\n\n###Response to evaluate:\n{response}\n\n"
PROMETHEUS_ABSOLUTE_REFERENCE = "###Reference Answer (Score {high}):\n{reference}\n\n"
PROMETHEUS_ABSOLUTE_RUBRIC = "###Score Rubrics:\n{rubric}\n\n"

PROMETHEUS_RELATIVE_HEAD = (
    "###Task Description:\n"
    "An instruction (might include an Input inside it), a response to evaluate{given}, and a score rubric"
    " representing a evaluation criteria are given.\n"
    "1. Write a detailed feedback that assess the quality of two responses strictly based on the given score"
    " rubric, not evaluating in general.\n"
    "2. After writing a feedback, choose a better response between Response A and Response B. You should refer"
    " to the score rubric.\n"
    "3. The output format should look as follows: \"Feedback: (write a feedback for criteria) [RESULT] (A or B)\"\n"
    "4. Please do not generate any other opening, closing, and explanations.\n\n"
)
PROMETHEUS_RELATIVE_GIVEN_REF = ", a reference answer"
PROMETHEUS_RELATIVE_BODY = "###Instruction:\n{instruction}\n\n###Response A:\n{response_a}\n\n###Response B:\n{response_b}\n\n"
PROMETHEUS_RELATIVE_REFERENCE = "###Reference Answer:\n{reference}\n\n"
PROMETHEUS_RELATIVE_RUBRIC = "###Score Rubric:\n{rubric}\n\n"
#: both prompts end here; the model writes "Feedback: … [RESULT] k" (or just "… [RESULT] k")
PROMETHEUS_FEEDBACK = "###Feedback: "

#: the score rubric: ``[criteria]`` then one ``Score k: …`` line per level (no trailing newline);
#: the relative prompt shows only the ``[criteria]`` line (as prometheus-eval's ``load_rubric`` does)
PROMETHEUS_CRITERIA_LINE = "[{criteria}]"
PROMETHEUS_LEVEL_LINE = "\nScore {score}: {description}"

#: MT-bench items fold the conversation into the instruction this way (the last "Assistant: " is open)
PROMETHEUS_DIALOGUE = (
    "Here is a previous dialogue between an assistant and an user. Generate a human preferable response by the"
    " assistant.\n"
)
PROMETHEUS_DIALOGUE_TURN = {"user": "User: {content}\n\n", "assistant": "Assistant:{content}\n\n"}
PROMETHEUS_DIALOGUE_OPEN = "Assistant: "

#: system prompts prometheus-eval sends with chat-template models (Prometheus 2); not part of the prompt text
PROMETHEUS_ABS_SYSTEM = (
    "You are a fair judge assistant tasked with providing clear, objective feedback based on specific criteria,"
    " ensuring each assessment reflects the absolute standards set for performance."
)
PROMETHEUS_REL_SYSTEM = (
    "You are a fair judge assistant assigned to deliver insightful feedback that compares individual"
    " performances, highlighting how each stands relative to others within the same cohort."
)
