"""Prometheus metrics of one app (its own registry, so several apps can live in one process)."""

import torch
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class Metrics:
    """Requests, latency, in-flight, torch job time, rejections, CUDA memory."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
            "Requests being served now.",
            registry=self.registry,
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
            "CUDA memory held by tensors, per device.",
            ["device"],
            registry=self.registry,
        )

    def reject(self, limit: str, reason: str) -> None:
        """Count one refusal."""
        self.rejections.labels(limit=limit, reason=reason).inc()

    def refresh_cuda(self) -> None:
        """Read CUDA memory in use (at scrape time)."""
        if torch.cuda.is_available():
            for index in range(torch.cuda.device_count()):
                self.cuda_memory.labels(device=f"cuda:{index}").set(
                    torch.cuda.memory_allocated(index)
                )
