"""CPU training step of the smol judge (SmolLM2-135M-Instruct): tokens/s and share of the matmul peak.

Variants (each a real optimiser step: forward, loss, backward, AdamW update, one torch thread):

* ``naive``      — base in the CPU compute dtype (bf16 where native, else fp32), LoRA r=16 on every linear of all 30 layers, transformers' own loss
                   (logits for every position: the 49,152-word head on all tokens);
* ``label_only`` — the same, logits computed only at the last positions (left padding puts the
                   labelled score line at the end of every row): ``logits_to_keep``;
* ``top_k``      — plus LoRA only on the top K layers: autograd stops below them, so the lower
                   layers run forward only;
* ``full_top_k`` — full fine-tuning (weights in the compute dtype) of the top K layers instead of LoRA.

FLOPs are counted from the shapes of what each variant executes (linear layers 2·in·out per
token, causal attention 2·T·d per token for scores and values, the head at the positions it runs
at; backward = activation gradients through every layer above the lowest trainable one, plus weight
gradients of what trains), so the share says how well the step uses the CPU. The peak is measured
on the spot (large GEMM in the same dtype, same thread count).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_smol_train.py --threads 1 \
        --json benchmarks/results/smol-train.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def layer_linear_params(model) -> int:
    """Weights of the linear layers of one decoder layer (in·out summed)."""
    import torch

    layer = model.model.layers[0]
    return sum(m.weight.numel() for m in layer.modules() if isinstance(m, torch.nn.Linear))


def step_flops(cfg, per_layer: int, lengths: list[int], n_layers: int, trainable_layers: int, head_positions: int,
               full: bool, lora_r: int, lora_per_layer_dims: int) -> float:
    """Executed FLOPs of one training step (see the module docstring)."""
    d = cfg.hidden_size
    tokens = sum(lengths)
    attn_fwd = sum(2 * 2 * d * t * (t + 1) / 2 for t in lengths)  # causal QK^T and AV, per layer
    fwd_layer = 2 * per_layer * tokens + attn_fwd
    fwd = n_layers * fwd_layer
    head = 2 * cfg.vocab_size * d * head_positions
    bwd = trainable_layers * (2 * per_layer * tokens + 2 * attn_fwd)  # activation gradients
    if full:
        bwd += trainable_layers * 2 * per_layer * tokens  # weight gradients
    lora = trainable_layers * 2 * lora_r * lora_per_layer_dims * tokens * 3 if not full else 0
    return fwd + 3 * head + bwd + lora


def run_variant(name: str, base: str, batch_size: int, seq_len: int, top_k: int, steps: int, threads: int,
                lora_r: int = 16) -> dict:
    import torch

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    from judgelm.models.loading import load_causal_lm

    model = load_causal_lm(base, dtype="auto", device="cpu").model  # bf16 where the CPU has native bf16, else fp32
    cfg = model.config
    n_layers = cfg.num_hidden_layers
    full = name == "full_top_k"
    k = n_layers if name in ("naive", "label_only") else top_k
    if full:
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in model.model.layers[n_layers - k:]:
            for p in layer.parameters():
                p.requires_grad_(True)
        lora_dims = 0
    else:
        from peft import LoraConfig, get_peft_model

        targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
        lcfg = LoraConfig(r=lora_r, lora_alpha=2 * lora_r, lora_dropout=0.0, target_modules=targets,
                          layers_to_transform=list(range(n_layers - k, n_layers)), task_type="CAUSAL_LM")
        model = get_peft_model(model, lcfg)
        layer0 = model.base_model.model.model.layers[0]
        lora_dims = sum(m.in_features + m.out_features for m in layer0.modules() if isinstance(m, torch.nn.Linear))
    model.train()
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4)
    inner = model.base_model.model if not full else model
    per_layer = layer_linear_params(inner)
    n_label = 4
    ids = torch.randint(100, 40000, (batch_size, seq_len))
    labels = torch.full_like(ids, -100)
    labels[:, -n_label:] = ids[:, -n_label:]
    mask = torch.ones_like(ids)
    times = []
    for s in range(steps + 1):
        t = time.perf_counter()
        if name == "naive":
            out = model(input_ids=ids, attention_mask=mask, labels=labels)
            loss = out.loss
            head_positions = ids.numel()
        else:
            out = model(input_ids=ids, attention_mask=mask, logits_to_keep=n_label + 1)
            logits = out.logits[:, :-1].float()
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels[:, -n_label:].reshape(-1))
            head_positions = batch_size * (n_label + 1)
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if s:  # first step warms up
            times.append(time.perf_counter() - t)
    sec = sorted(times)[len(times) // 2]
    flops = step_flops(cfg, per_layer, [seq_len] * batch_size, n_layers, k, head_positions, full, lora_r, lora_dims)
    return {"variant": name, "batch_size": batch_size, "seq_len": seq_len, "trainable_layers": k,
            "trainable_params": sum(p.numel() for p in params), "step_s_median": round(sec, 3),
            "tokens_per_s": round(batch_size * seq_len / sec, 1), "gflop_per_step": round(flops / 1e9, 1),
            "gflops": round(flops / sec / 1e9, 1), "loss": round(float(loss), 4)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="smollm2-135m-instruct")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--variants", default="naive,label_only,top_k,full_top_k")
    ap.add_argument("--shapes", default="4x384", help="comma-separated BATCHxLEN")
    ap.add_argument("--top-k", type=int, default=15)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    from judgelm.engines.bench import cpu_matmul_peak_gflops
    from judgelm.models.dtype import cpu_compute_dtype

    peak = cpu_matmul_peak_gflops(args.threads, reps=8)
    print(f"GEMM peak ({cpu_compute_dtype()}), {args.threads} thread(s): {peak:.0f} GFLOP/s", flush=True)
    rows = []
    for shape in args.shapes.split(","):
        b, n = (int(x) for x in shape.split("x"))
        for v in args.variants.split(","):
            r = run_variant(v, args.base, b, n, args.top_k, args.steps, args.threads)
            r["share_of_peak"] = round(r["gflops"] / peak, 3)
            rows.append(r)
            print(json.dumps(r), flush=True)
    dtype = str(cpu_compute_dtype()).replace("torch.", "")
    result = {"what": f"smol judge training step (SmolLM2-135M-Instruct, {dtype}, CPU)", "threads": args.threads,
              "matmul_peak_gflops": round(peak, 1), "peak_dtype": dtype, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
              "load_average_start": os.getloadavg(), "rows": rows}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
