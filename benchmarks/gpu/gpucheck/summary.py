"""The figures as a few readable lines (what the script prints at the end)."""

from __future__ import annotations

from typing import Any


def _f(x: Any, fmt: str = "{:.2f}") -> str:
    return "-" if x is None else fmt.format(x) if isinstance(x, (int, float)) else str(x)


def summary_lines(data: dict[str, Any]) -> list[str]:
    stages = data.get("stages", {})
    lines = ["stage         status       seconds  note"]
    for name, s in stages.items():
        note = s.get("reason") or s.get("error") or ""
        lines.append(f"{name:<13} {s.get('status', '?'):<12} {_f(s.get('seconds'), '{:>7.1f}'):>7}  {note[:90]}")
    fig = {name: s.get("figures", {}) for name, s in stages.items()}
    peak = fig.get("peak", {})
    lines.append(f"bf16 peak: measured {_f(peak.get('measured_tflops'), '{:.4g}')} TFLOP/s (n={peak.get('n')}), "
                 f"nominal {_f(peak.get('nominal_tflops'), '{:.0f}')} TFLOP/s")
    hf = fig.get("speed_hf", {})
    if "b_fast" in hf:
        b, a = hf["b_fast"], hf["a_reference"]
        lines.append(f"hf fast: {b['samples']} prompts, {b['samples_per_s']:.2f} samples/s, prefill "
                     f"{_f(b.get('prefill_share_of_peak'), '{:.0%}')} of measured peak; batch-1 reference "
                     f"{a['samples_per_s']:.2f} samples/s on {a['samples']}; speed-up {hf['speedup_b_over_a']:.2f}x")
    vs = fig.get("vllm", {}).get("speed", {})
    if "samples_per_s" in vs:
        lines.append(f"vllm fast: {vs['samples']} prompts, {vs['samples_per_s']:.2f} samples/s, "
                     f"dense-equivalent {_f(vs.get('dense_share_of_peak'), '{:.0%}')} of measured peak")
    for key, label in (("hf_bfloat16", "hf bf16"), ("hf_float32", "hf fp32"), ("vllm_bfloat16", "vllm bf16")):
        modes = fig.get("agree_hf", {}).get(key, {})
        for mode in ("fast", "explained"):
            if mode in modes:
                m = modes[mode]
                lines.append(f"agreement {label} vs CPU fp32, {mode}: verdicts {m['verdict_agreement']:.1%}, "
                             f"texts {m['text_agreement']:.1%} of {m['requests']} (reference parsed {m['reference_parsed']:.0%})")
    lora = fig.get("lora", {})
    if "global_step" in lora:
        lines.append(f"lora: {lora['global_step']} steps in {lora['seconds']:.1f}s, loss {_f(lora.get('train_loss'))}")
    ray = fig.get("ray", {})
    if "replicas" in ray:
        lines.append(f"ray: {ray['replicas']} replica(s), cluster GPUs {ray.get('cluster_gpus')}, free while running "
                     f"{ray.get('gpus_free_while_running')}, {_f(ray.get('samples_per_s'))} samples/s")
    lines.append(f"goals: {data.get('goals')}")
    lines.append(f"wall: {_f(data.get('wall_s'), '{:.1f}')}s")
    return lines
