"""Prometheus text exposition (format 0.0.4) for the server's few metrics.

prometheus_client is not a dependency; the server needs counters, one gauge family and
latency histograms, which take a few dozen lines to expose correctly and thread-safely.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

#: latency buckets in seconds (upper bounds), Prometheus' defaults plus a long tail for big judges
DEFAULT_BUCKETS: tuple[float, ...] = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

LabelKey = tuple[tuple[str, str], ...]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(key: LabelKey, extra: tuple[tuple[str, str], ...] = ()) -> str:
    pairs = key + extra
    if not pairs:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in pairs) + "}"


def _fmt(value: float) -> str:
    if value == float("inf"):
        return "+Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


class _Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str) -> None:
        self.name = name
        self.help = help_text
        self._lock = threading.Lock()

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]


class Counter(_Metric):
    """A monotonically increasing value per label set."""

    kind = "counter"

    def __init__(self, name: str, help_text: str) -> None:
        super().__init__(name, help_text)
        self._values: dict[LabelKey, float] = {}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            self._values[key] = self._values.get(key, 0.0) + amount

    def value(self, **labels: str) -> float:
        return self._values.get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> list[str]:
        with self._lock:
            items = sorted(self._values.items())
        if not items:
            items = [((), 0.0)]
        return self.header() + [f"{self.name}{_labels(k)} {_fmt(v)}" for k, v in items]


class Gauge(_Metric):
    """A value read at scrape time from a callback (queue depth, jobs running)."""

    kind = "gauge"

    def __init__(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        super().__init__(name, help_text)
        self._read = read

    def render(self) -> list[str]:
        return self.header() + [f"{self.name} {_fmt(self._read())}"]


class Histogram(_Metric):
    """Cumulative buckets, sum and count per label set."""

    kind = "histogram"

    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = DEFAULT_BUCKETS) -> None:
        super().__init__(name, help_text)
        self.buckets = tuple(sorted(buckets)) + (float("inf"),)
        self._series: dict[LabelKey, list[float]] = {}  # bucket counts..., sum, count

    def observe(self, value: float, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._series.setdefault(key, [0.0] * (len(self.buckets) + 2))
            for i, bound in enumerate(self.buckets):
                if value <= bound:
                    series[i] += 1
            series[-2] += value
            series[-1] += 1

    def render(self) -> list[str]:
        with self._lock:
            items = sorted((k, list(v)) for k, v in self._series.items())
        lines = self.header()
        for key, series in items:
            for bound, count in zip(self.buckets, series):
                lines.append(f"{self.name}_bucket{_labels(key, (('le', _fmt(bound)),))} {_fmt(count)}")
            lines.append(f"{self.name}_sum{_labels(key)} {_fmt(series[-2])}")
            lines.append(f"{self.name}_count{_labels(key)} {_fmt(series[-1])}")
        return lines


class Registry:
    """The server's metrics; ``render()`` is the body of GET /metrics."""

    def __init__(self) -> None:
        self._metrics: list[_Metric] = []

    def add(self, metric: _Metric) -> _Metric:
        self._metrics.append(metric)
        return metric

    def render(self) -> str:
        lines: list[str] = []
        for metric in self._metrics:
            lines.extend(metric.render())  # type: ignore[attr-defined]
        return "\n".join(lines) + "\n"


class ServerMetrics:
    """The named metrics the app updates. Gauges read live state through callbacks."""

    def __init__(self, queue_depth: Callable[[], float], jobs_active: Callable[[], float]) -> None:
        self.registry = Registry()
        self.requests = self.registry.add(
            Counter("judgelm_http_requests_total", "HTTP requests by method, route and status code.")
        )
        self.latency = self.registry.add(
            Histogram("judgelm_http_request_duration_seconds", "HTTP request latency by route.")
        )
        self.samples = self.registry.add(
            Counter("judgelm_samples_judged_total", "Judge prompts completed, by source (api, job) and parse status.")
        )
        self.batches = self.registry.add(
            Histogram(
                "judgelm_engine_batch_size",
                "Requests per engine call (dynamic batching).",
                buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
            )
        )
        self.rejected = self.registry.add(
            Counter("judgelm_requests_rejected_total", "Requests refused before judging, by reason.")
        )
        self.registry.add(Gauge("judgelm_queue_depth", "Judge prompts waiting for the engine.", queue_depth))
        self.registry.add(Gauge("judgelm_jobs_active", "Batch jobs queued or running.", jobs_active))

    def render(self) -> str:
        return self.registry.render()
