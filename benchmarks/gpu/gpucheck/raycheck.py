"""A local Ray cluster with one engine replica per GPU (here: one), through the project's RayBackend.

Checked: the replica is placed on the GPU (the cluster's GPU is taken while it runs), and it judges
the agreement pairs (fast mode, both orders) as the in-process engine on the same device does.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from gpucheck.record import Unavailable
from judgelm.schema import Sample

logger = logging.getLogger(__name__)


def ray_replicas(judge_dir: str, samples: list[Sample], plan: Any) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Judge ``samples`` on ``plan.ray_replicas`` replica(s); returns (figures, results by key)."""
    import importlib.util

    if importlib.util.find_spec("ray") is None:
        raise Unavailable("package ray not installed")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    import ray

    from gpucheck.agree import outputs_to_results
    from judgelm.judging.requests import build_requests, to_judgement
    from judgelm.judging.scaleout import RayBackend
    from judgelm.judging.settings import JudgeSettings

    requests = [r for s in samples for r in build_requests(s, JudgeSettings(both_orders=True, fast=True))]
    t0 = time.perf_counter()
    backend = RayBackend(f"hf:{judge_dir}", {"device": plan.device, "dtype": "bfloat16"}, workers=plan.ray_replicas)
    figures: dict[str, Any] = {"start_s": time.perf_counter() - t0, "replicas": len(backend.actors),
                               "cluster_gpus": ray.cluster_resources().get("GPU", 0.0),
                               "gpus_free_while_running": ray.available_resources().get("GPU", 0.0)}
    try:
        size = backend.batch_size_for(len(requests))
        batches = [requests[i:i + size] for i in range(0, len(requests), size)]
        t1 = time.perf_counter()
        done = [(r, o) for batch, outs in backend.judge_batches(batches) for r, o in zip(batch, outs)]
        figures["seconds"] = time.perf_counter() - t1
    finally:
        backend.close()
    by_key = {r.key: to_judgement(r, o, backend.name) for r, o in done}
    keys = [f"{r.key}|fast" for r in requests]
    judgements = [by_key[r.key] for r in requests]
    figures.update(requests=len(requests), errors=sum(j.error is not None for j in judgements),
                   samples_per_s=len(samples) / figures["seconds"] if figures["seconds"] else 0.0)
    return figures, outputs_to_results(keys, judgements)
