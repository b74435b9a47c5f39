"""Scale-out over Ray: one engine replica per Ray actor (one per GPU, or per CPU slot).

Why only the engine moves: the driver keeps the run state, the cache and the output, and hands
batches of pending requests to whichever actor is free; results flow back and are committed exactly
as in a single-process run. So ``--workers N`` changes throughput, never the output, and a killed
sharded run resumes like any other (even with a different number of workers).
"""

from __future__ import annotations

import logging
import math
import os
from collections import deque
from collections.abc import Iterator
from typing import Any

from judgelm.engines.base import EngineOutput, JudgeRequest

logger = logging.getLogger(__name__)

#: batches queued per actor, so an actor never idles while the driver commits
IN_FLIGHT_PER_ACTOR = 2


class EngineActor:
    """Body of a Ray actor: loads the engine once, then judges batches."""

    def __init__(self, spec: str, options: dict[str, Any], threads: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        from judgelm.engines import load_engine

        self.engine = load_engine(spec, **options)

    def describe(self) -> tuple[str, dict[str, Any], int]:
        from judgelm.judging.requests import engine_settings

        return self.engine.name, engine_settings(self.engine), self.engine.preferred_batch_size

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        from judgelm.judging.requests import safe_judge_batch

        return safe_judge_batch(self.engine, requests)


class RayBackend:
    """Starts (or joins) Ray, creates the actors and streams batches through them: a
    :class:`~judgelm.judging.backend.ParallelBackend`, made by ``judgelm judge --workers`` (the edge that
    resolves the spec) and closed by it."""

    def __init__(self, spec: str, options: dict[str, Any], *, workers: int = 0, address: str | None = None,
                 threads_per_worker: int = 1) -> None:
        os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, loopback-only cluster
        import ray

        self._owns_ray = False
        if not ray.is_initialized():
            env = {"env_vars": {"OMP_NUM_THREADS": str(threads_per_worker), "TOKENIZERS_PARALLELISM": "false",
                                "RAY_AUTH_MODE": "disabled"}}
            if address:
                ray.init(address=address, runtime_env=env, logging_level=logging.WARNING)
            else:
                ray.init(num_cpus=max(1, workers) * threads_per_worker, include_dashboard=False,
                         runtime_env=env, logging_level=logging.WARNING, object_store_memory=128 * 2**20)
            self._owns_ray = True
        gpus = int(ray.cluster_resources().get("GPU", 0))
        use_gpu = gpus > 0 and str(options.get("device", "auto")).startswith(("auto", "cuda"))
        n = workers or max(1, gpus)
        actor_cls = ray.remote(num_cpus=threads_per_worker, num_gpus=1 if use_gpu else 0)(EngineActor)
        self.actors = [actor_cls.remote(spec, options, threads_per_worker) for _ in range(n)]
        self.name, self.settings, self.preferred_batch_size = ray.get(self.actors[0].describe.remote())
        logger.info("ray: %d %s worker(s) running %s", n, "GPU" if use_gpu else "CPU", self.name)

    def generation_settings(self) -> dict[str, Any]:
        """The replicas' engine settings (part of the cache key), as the first actor reported them."""
        return dict(self.settings)

    def batch_size_for(self, n_pending: int) -> int:
        """Small enough that every actor gets several batches (balance), at most the engine's own size."""
        return max(1, min(self.preferred_batch_size, math.ceil(n_pending / (len(self.actors) * 4))))

    def judge_batch(self, requests: list[JudgeRequest]) -> list[EngineOutput]:
        """One batch on whichever actor is free (the runners stream many with :meth:`judge_batches`)."""
        return next(iter(self.judge_batches([requests])))[1]

    def judge_batches(self, batches: list[list[JudgeRequest]]
                      ) -> Iterator[tuple[list[JudgeRequest], list[EngineOutput]]]:
        import ray

        queue = deque(batches)
        inflight: dict[Any, tuple[Any, list[JudgeRequest]]] = {}
        load = {i: 0 for i in range(len(self.actors))}
        while queue or inflight:
            for i, actor in enumerate(self.actors):
                while queue and load[i] < IN_FLIGHT_PER_ACTOR:
                    batch = queue.popleft()
                    inflight[actor.judge_batch.remote(batch)] = (i, batch)
                    load[i] += 1
            ready, _ = ray.wait(list(inflight), num_returns=1)
            i, batch = inflight.pop(ready[0])
            load[i] -= 1
            try:
                outputs = ray.get(ready[0])
            except ray.exceptions.RayError as exc:  # a dead actor: record, the next run retries
                logger.error("ray worker %d failed on a batch of %d: %s", i, len(batch), exc)
                outputs = [EngineOutput(text="", error=f"ray worker failed: {type(exc).__name__}") for _ in batch]
            yield batch, outputs

    def close(self) -> None:
        import ray

        for actor in self.actors:
            ray.kill(actor)
        self.actors = []
        if self._owns_ray:
            ray.shutdown()
