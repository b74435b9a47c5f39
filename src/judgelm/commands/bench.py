"""``judgelm bench``: speed of the hf engine vs. one ``generate`` per sample (see docs/benchmarks.md)."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Optional

import typer

from judgelm.commands.options import EngineOptionOption, EngineOptOption, parse_engine_opts


class SizeChoice(str, Enum):
    m110 = "110m"
    tiny = "tiny"


def main(
    model: Annotated[Optional[str], typer.Option(help="Model dir or hub id; default: random weights of --size.")] = None,
    tiny: Annotated[bool, typer.Option("--tiny", hidden=True, help="Former spelling of --size tiny.")] = False,
    size: Annotated[SizeChoice, typer.Option(help="Random model size (tiny: the CI model).")] = "110m",  # type: ignore[assignment]
    data: Annotated[Optional[str], typer.Option(help="PandaLM testset-v1.json (default: shared data).")] = None,
    limit: Annotated[Optional[int], typer.Option(help="Use the first N pairs (default: all 999).")] = None,
    ref_limit: Annotated[int, typer.Option(help="Pairs for (a), the per-sample reference (a rate).")] = 64,
    explained_limit: Annotated[int, typer.Option(help="Pairs for (c), batched explained mode.")] = 128,
    explained_ref_limit: Annotated[int, typer.Option(help="Pairs for (c), per-sample explained.")] = 16,
    score_tokens: Annotated[int, typer.Option(help="Forced decode steps of the score line.")] = 4,
    explained_tokens: Annotated[int, typer.Option(help="Forced new tokens in explained mode.")] = 32,
    token_budget: Annotated[Optional[int], typer.Option(help="Padded tokens per batch (default: the engine's, "
                                                          "4096 on CPU, 16384 on GPU).")] = None,
    out: Annotated[Optional[str], typer.Option(help="Write the figures as JSON here.")] = "bench-engines.json",
    judge: Annotated[Optional[str], typer.Option(
        "--judge", "-j", help="vllm:MODEL_DIR: measure vLLM's prefix caching instead (pairs/s on and off, "
                              "--limit pairs, both orders; docs/engines.md).")] = None,
    option: EngineOptionOption = None,
    engine_opt: EngineOptOption = None,
) -> None:
    """Benchmark fast/explained judging against the reference per-sample generate loop."""
    from judgelm.engines.bench import format_table, run_benchmark

    if judge is not None:
        if not judge.startswith("vllm:") or judge == "vllm:":
            raise typer.BadParameter(f"{judge!r}: bench measures vllm:MODEL_DIR (prefix caching on/off)",
                                     param_hint="--judge")
        from judgelm.engines import bench_vllm

        figures = bench_vllm.run_prefix_benchmark(
            judge.removeprefix("vllm:"), data=data, limit=limit or 48, options=parse_engine_opts([*(option or []), *(engine_opt or [])]),
            out=None if out == "bench-engines.json" else out)
        typer.echo(bench_vllm.format_table(figures))
        return

    result = run_benchmark(model=model, size="tiny" if tiny else getattr(size, "value", size), data=data, limit=limit, ref_limit=ref_limit,
                           explained_limit=explained_limit, explained_ref_limit=explained_ref_limit,
                           score_tokens=score_tokens, explained_tokens=explained_tokens,
                           token_budget=token_budget, out=out)
    typer.echo(format_table(result))
    if out:
        typer.echo(f"figures written to {out}")
