"""The web UI (gradio) mounted under /ui: one tab per judging mode, plus batch jobs.

The UI judges through the same :class:`~judgelm.serve.service.JudgeService` and job store as
the HTTP API (same batcher, same limits), so what a user sees is what the API answers.
With API keys configured, the UI asks for a login whose password is an API key.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from judgelm.judging.settings import JudgeSettings
from judgelm.schema import Answer, Judgement, ParseStatus, Sample, Turn
from judgelm.serve.batcher import QueueFull
from judgelm.serve.jobs import JobStore, JobWorker
from judgelm.serve.security import key_matches
from judgelm.serve.service import JudgeService, summarize
from judgelm.serve.settings import ServeSettings
from judgelm.serve.uploads import parse_upload

logger = logging.getLogger(__name__)

EXAMPLE_PAIR = (
    "What is the capital of Australia?",
    "The capital of Australia is Canberra. It was purpose-built as a compromise between Sydney and Melbourne.",
    "Sydney.",
    "Canberra is the capital of Australia.",
)
EXAMPLE_SINGLE = ("Convert 5 kilometres to miles.", "5 kilometres is roughly 8 miles.", "5 km ≈ 3.107 miles.")
EXAMPLE_MULTI = (
    "Give me three tips for sleeping better.",
    "Sleep.\n---\nKeep a regular schedule, a dark quiet bedroom, and no caffeine late in the day.\n---\n"
    "Drink coffee before bed and keep the lights on.",
)
EXAMPLE_TURNS = (
    "User: I want to visit Japan in spring.\nAssistant: Late March to early April is cherry-blossom season.",
    "Which city should I start in?",
    "Start in Tokyo: most international flights land there, and it is a good base for day trips.",
    "Japan is an island country in East Asia.",
)


def _verdict_text(j: Judgement | dict[str, Any], n: int) -> str:
    verdict = j["verdict"] if isinstance(j, dict) else j.verdict
    scores = j["scores"] if isinstance(j, dict) else j.scores
    status = j["status"] if isinstance(j, dict) else j.status.value
    if status not in (ParseStatus.OK.value, "partial"):
        return f"No verdict — judge output {status}"
    if verdict is None:
        if scores and len(scores) == 1:
            return f"Grade: {scores[0]:g} / 10"
        return "No verdict"
    if verdict == 0:
        return "Tie"
    return f"Answer {verdict} wins" if n > 2 else f"Assistant {verdict} wins"


def _fmt_scores(scores: list[float] | None) -> str:
    return "—" if not scores else "  ".join(f"{s:g}" for s in scores)


def _order_card(j: Judgement, n: int) -> str:
    shown = ", ".join(str(i + 1) for i in j.order)
    return (f"**Order shown: {shown}**\n\n**{_verdict_text(j, n)}**  \nScores (original order): "
            f"{_fmt_scores(j.scores)}  \nConfidence: {'—' if j.confidence is None else f'{j.confidence:.3f}'}"
            f"  \nStatus: {j.status.value}\n\n" + (j.explanation or (f"Judge output (presented order):\n```\n{j.raw}\n```" if j.raw else "")))


def _parse_turns(text: str) -> list[Turn]:
    """``User: …`` / ``Assistant: …`` lines (continuation lines join the previous turn)."""
    turns: list[Turn] = []
    for line in text.splitlines():
        head, sep, rest = line.partition(":")
        role = head.strip().lower()
        if sep and role in ("user", "assistant", "system"):
            turns.append(Turn(role=role, content=rest.strip()))
        elif turns:
            turns[-1] = Turn(role=turns[-1].role, content=turns[-1].content + "\n" + line)
        elif line.strip():
            raise ValueError(f"history line {line!r} must start with 'User:' or 'Assistant:'")
    return turns


def mount_ui(app: Any, service: JudgeService, store: JobStore, worker: JobWorker, settings: ServeSettings,
             options: Callable[..., JudgeSettings]) -> None:
    """Build the gradio Blocks and mount them on ``app`` at /ui."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    downloads = Path(tempfile.mkdtemp(prefix="judgelm-ui-"))

    def run(sample: Sample, **opt: Any) -> tuple[dict[str, Any], list[Judgement]]:
        try:
            judge_settings = options(**opt)
            if len(sample.answers) > settings.max_answers:
                raise gr.Error(f"{len(sample.answers)} answers exceed the limit of {settings.max_answers}")
            judgements = service.judge_sync(sample, judge_settings)
        except QueueFull as exc:
            raise gr.Error(f"The judge is busy: {exc}") from None
        except gr.Error:
            raise
        except Exception as exc:
            raise gr.Error(f"{type(exc).__name__}: {exc}") from None
        return summarize(judgements), judgements

    def outputs(summary: dict[str, Any], judgements: list[Judgement], n: int) -> tuple[Any, ...]:
        conf = summary["confidence"]
        head = f"### Verdict: {_verdict_text(summary, n)}"
        if summary["consistent"] is not None:
            head += "  \n" + ("Both orders agree." if summary["consistent"] else "The two orders disagree.")
        details = (f"Scores: {_fmt_scores(summary['scores'])}  \nConfidence: "
                   f"{'—' if conf is None else f'{conf:.3f}'}  \nStatus: {summary['status']}  \n"
                   f"Latency: {summary['latency_s']:.3f}s")
        first = _order_card(judgements[0], n)
        second = _order_card(judgements[1], n) if len(judgements) > 1 else "_(enable “both orders” to see the swapped order)_"
        explanation = summary["explanation"] or (f"Judge output (order 1, 2): {judgements[0].raw}"
                                                 if judgements[0].raw else "")
        return head, details, explanation, first, second

    def result_block(prefix: str) -> list[Any]:
        verdict = gr.Markdown(elem_id=f"{prefix}-verdict")
        details = gr.Markdown(elem_id=f"{prefix}-details")
        explanation = gr.Textbox(label="Explanation", lines=4, elem_id=f"{prefix}-explanation", interactive=False)
        with gr.Row():
            first = gr.Markdown(elem_id=f"{prefix}-order-1")
            second = gr.Markdown(elem_id=f"{prefix}-order-2")
        return [verdict, details, explanation, first, second]

    def judge_pair(q: str, a1: str, a2: str, ref: str, use_ref: bool, both: bool, explain: bool, template: str):
        sample = Sample(id="ui", question=q, answers=[Answer(text=a1), Answer(text=a2)], reference=ref or None)
        summary, js = run(sample, reference=use_ref and bool(ref), both_orders=both, fast=not explain,
                          template=template)
        return outputs(summary, js, 2)

    def judge_single(q: str, a: str, ref: str, use_ref: bool, explain: bool):
        if not ref.strip():
            raise gr.Error("single-answer grading needs a reference (anchor) answer")
        sample = Sample(id="ui", question=q, answers=[Answer(text=a)], reference=ref)
        summary, js = run(sample, mode="single", reference=use_ref, fast=not explain)
        return outputs(summary, js, 1)

    def judge_multi(q: str, answers: str, ref: str, use_ref: bool, both: bool, explain: bool):
        texts = [t.strip() for t in answers.split("\n---\n") if t.strip()]
        if len(texts) < 2:
            raise gr.Error("give at least two answers, separated by a line containing only ---")
        sample = Sample(id="ui", question=q, answers=[Answer(text=t) for t in texts], reference=ref or None)
        summary, js = run(sample, reference=use_ref and bool(ref), both_orders=both, fast=not explain)
        return outputs(summary, js, len(texts))

    def judge_turns(history: str, q: str, a1: str, a2: str, both: bool, explain: bool):
        try:
            turns = _parse_turns(history)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        sample = Sample(id="ui", question=q, history=turns, answers=[Answer(text=a1), Answer(text=a2)])
        summary, js = run(sample, both_orders=both, fast=not explain)
        return outputs(summary, js, 2)

    def start_job(file: Any, use_ref: bool, both: bool, explain: bool):
        if file is None:
            raise gr.Error("upload a JSONL file first")
        path = Path(file if isinstance(file, str) else file.name)
        try:
            samples = parse_upload(path.read_bytes(), path.name)
        except Exception as exc:
            raise gr.Error(str(exc)) from None
        if len(samples) > settings.max_job_samples:
            raise gr.Error(f"{len(samples)} samples exceed the limit of {settings.max_job_samples} per job")
        for i, s in enumerate(samples, 1):
            if len(s.answers) > settings.max_answers:
                raise gr.Error(f"{path.name}: sample {i} (id {s.id!r}) has {len(s.answers)} answers, "
                               f"more than the limit of {settings.max_answers}")
        job_id = store.create(samples, options(reference=use_ref, both_orders=both, fast=not explain), path.name)
        worker.wake()
        return job_id, job_status(job_id)[0]

    def job_status(job_id: str):
        if not job_id:
            return "No job yet.", None
        job = store.get(job_id)
        if job is None:
            return f"No job {job_id}", None
        text = (f"**Job {job_id}** — {job['status']}: {job['done']} / {job['total']} samples "
                f"({100 * job['progress']:.0f}%), {job['errors']} errors")
        return text, None

    def download(job_id: str):
        if not job_id or store.get(job_id) is None:
            raise gr.Error("no job to download")
        out = downloads / f"{job_id}.jsonl"
        with out.open("w", encoding="utf-8") as fh:
            for j in store.results(job_id):
                fh.write(json.dumps(j) + "\n")
        return str(out)

    with gr.Blocks(title="judgelm", analytics_enabled=False) as blocks:
        gr.Markdown(f"# judgelm — {service.judge_name}\nJudge answers with the served model. "
                    "The same judge answers the HTTP API at `/v1/judge`.")
        with gr.Tabs():
            with gr.Tab("Pairwise", id="pair"):
                q = gr.Textbox(label="Question", value=EXAMPLE_PAIR[0], elem_id="pair-question")
                with gr.Row():
                    a1 = gr.Textbox(label="Answer 1", value=EXAMPLE_PAIR[1], lines=4, elem_id="pair-answer-1")
                    a2 = gr.Textbox(label="Answer 2", value=EXAMPLE_PAIR[2], lines=4, elem_id="pair-answer-2")
                ref = gr.Textbox(label="Reference answer (optional)", value=EXAMPLE_PAIR[3], elem_id="pair-reference")
                with gr.Row():
                    use_ref = gr.Checkbox(label="Show the reference to the judge", value=True)
                    both = gr.Checkbox(label="Judge both orders", value=True, elem_id="pair-both")
                    explain = gr.Checkbox(label="Explain", value=True)
                    template = gr.Dropdown(["judgelm", "pandalm"], value=settings.template, label="Template")
                btn = gr.Button("Judge", variant="primary", elem_id="pair-submit")
                res = result_block("pair")
                btn.click(judge_pair, [q, a1, a2, ref, use_ref, both, explain, template], res)

            with gr.Tab("Single answer", id="single"):
                q = gr.Textbox(label="Question", value=EXAMPLE_SINGLE[0])
                a = gr.Textbox(label="Answer to grade", value=EXAMPLE_SINGLE[1], lines=4)
                ref = gr.Textbox(label="Reference / anchor answer (scored 10)", value=EXAMPLE_SINGLE[2], lines=2)
                with gr.Row():
                    use_ref = gr.Checkbox(label="Also show it as a reference block", value=True)
                    explain = gr.Checkbox(label="Explain", value=True)
                btn = gr.Button("Grade", variant="primary", elem_id="single-submit")
                res = result_block("single")
                btn.click(judge_single, [q, a, ref, use_ref, explain], res)

            with gr.Tab("Several answers", id="multi"):
                q = gr.Textbox(label="Question", value=EXAMPLE_MULTI[0])
                answers = gr.Textbox(label="Answers (separate them with a line containing only ---)",
                                     value=EXAMPLE_MULTI[1], lines=8)
                ref = gr.Textbox(label="Reference answer (optional)")
                with gr.Row():
                    use_ref = gr.Checkbox(label="Show the reference to the judge", value=False)
                    both = gr.Checkbox(label="Also judge the reversed order", value=False)
                    explain = gr.Checkbox(label="Explain", value=True)
                btn = gr.Button("Judge", variant="primary", elem_id="multi-submit")
                res = result_block("multi")
                btn.click(judge_multi, [q, answers, ref, use_ref, both, explain], res)

            with gr.Tab("Multi-turn", id="turns"):
                history = gr.Textbox(label="Earlier turns (User: … / Assistant: … lines)", value=EXAMPLE_TURNS[0],
                                     lines=4)
                q = gr.Textbox(label="Last user message", value=EXAMPLE_TURNS[1])
                with gr.Row():
                    a1 = gr.Textbox(label="Answer 1", value=EXAMPLE_TURNS[2], lines=3)
                    a2 = gr.Textbox(label="Answer 2", value=EXAMPLE_TURNS[3], lines=3)
                with gr.Row():
                    both = gr.Checkbox(label="Judge both orders", value=True)
                    explain = gr.Checkbox(label="Explain", value=True)
                btn = gr.Button("Judge", variant="primary", elem_id="turns-submit")
                res = result_block("turns")
                btn.click(judge_turns, [history, q, a1, a2, both, explain], res)

            with gr.Tab("Batch", id="batch"):
                gr.Markdown("Upload a JSONL file (canonical samples, or any format `judgelm convert` reads). "
                            "The job is stored on the server and survives restarts.")
                upload = gr.File(label="JSONL file", file_types=[".jsonl", ".json"], elem_id="batch-file")
                with gr.Row():
                    use_ref = gr.Checkbox(label="Show references", value=False)
                    both = gr.Checkbox(label="Both orders", value=False)
                    explain = gr.Checkbox(label="Explain", value=False)
                start = gr.Button("Start job", variant="primary", elem_id="batch-submit")
                job_id = gr.Textbox(label="Job id", interactive=True, elem_id="batch-job-id")
                progress = gr.Markdown("No job yet.", elem_id="batch-progress")
                fetch = gr.Button("Download results", elem_id="batch-download")
                results_file = gr.File(label="Results (JSONL)", interactive=False, elem_id="batch-results")
                start.click(start_job, [upload, use_ref, both, explain], [job_id, progress])
                timer = gr.Timer(1.0)
                timer.tick(lambda jid: job_status(jid)[0], [job_id], [progress])
                fetch.click(download, [job_id], [results_file])

    auth = None
    if settings.api_keys:
        def auth(_user: str, password: str) -> bool:
            return key_matches(password, settings.api_keys)

    gr.mount_gradio_app(app, blocks, path="/ui", auth=auth, ssr_mode=False, footer_links=[],
                        auth_message="Log in with any user name and an API key as the password."
                        if settings.api_keys else None, allowed_paths=[str(downloads)],
                        max_file_size=settings.max_upload_bytes)
    logger.info("web UI mounted at /ui")
