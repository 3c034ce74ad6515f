"""Prometheus metrics of one app (its own registry, so several apps can live in one process).

With several uvicorn workers each process counts its own requests; `layerscope serve` then sets
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode), every worker writes its values
to files there, and `/metrics` adds up all workers' files (`MultiProcessCollector`), whichever
worker answers the scrape. Gauges say how they combine: in-flight requests and CUDA memory are
summed over the live workers (`livesum`; a worker's files go when it shuts down).
"""

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""prometheus_client's switch to multiprocess mode: the folder the workers' values go to."""


def multiprocess_dir() -> str | None:
    """The multiprocess folder when this process runs in multiprocess mode, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """Requests, latency, in-flight, torch job time, rejections, CUDA memory."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_dir()
        self.requests = Counter(
            "layerscope_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "layerscope_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.in_flight = Gauge(
            "layerscope_requests_in_flight",
            "Requests being served now (all workers).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.job_seconds = Histogram(
            "layerscope_torch_job_seconds",
            "Time a torch job held its slot.",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.rejections = Counter(
            "layerscope_rejections",
            "Requests refused by a limit, by limit and reason.",
            ["limit", "reason"],
            registry=self.registry,
        )
        self.cuda_memory = Gauge(
            "layerscope_cuda_memory_allocated_bytes",
            "CUDA memory held by tensors, per device (all workers).",
            ["device"],
            registry=self.registry,
            multiprocess_mode="livesum",
        )

    def reject(self, limit: str, reason: str) -> None:
        """Count one refusal."""
        self.rejections.labels(limit=limit, reason=reason).inc()

    def refresh_cuda(self) -> None:
        """Read CUDA memory in use (at scrape time)."""
        import torch  # here, so `layerscope serve`'s supervisor process never loads torch

        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                self.cuda_memory.labels(device=f"cuda:{index}").set(
                    torch.cuda.memory_allocated(index)
                )

    def exposition(self) -> bytes:
        """The metrics in Prometheus' text format: this process's, or in multiprocess mode all
        workers' added up."""
        if self.multiprocess is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess)  # type: ignore[no-untyped-call]
        return generate_latest(registry)

    def worker_exited(self) -> None:
        """Drop this worker's live gauges from the sums (multiprocess mode; at shutdown)."""
        if self.multiprocess is not None:
            mark_process_dead(os.getpid(), self.multiprocess)  # type: ignore[no-untyped-call]
