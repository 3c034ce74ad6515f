"""The per-process runtime: settings, the default device, and readiness."""

import logging
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Annotated

import torch
from fastapi import Depends, Request

from service.devices import default_device, warm_up
from service.jobs import JobLimiter, default_slots
from service.metrics import Metrics
from service.planning import flops
from service.settings import Settings

log = logging.getLogger("layerscope.runtime")


@dataclass
class Runtime:
    """What every request needs to know about this process."""

    settings: Settings
    device: torch.device
    metrics: Metrics
    jobs: JobLimiter
    ready: threading.Event = field(default_factory=threading.Event)
    warm_up_seconds: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Runtime":
        """Resolve the configured device, apply the torch thread setting, size the limiter."""
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        torch.backends.cuda.matmul.allow_tf32 = settings.allow_tf32
        torch.backends.cudnn.allow_tf32 = settings.allow_tf32
        device = default_device(settings.device)
        metrics = Metrics()
        jobs = JobLimiter(
            slots=settings.max_concurrent_jobs or default_slots(device),
            queue=settings.max_queued_jobs,
            timeout_s=settings.request_timeout_s,
            on_reject=lambda reason: metrics.reject("jobs", reason),
        )
        return cls(settings=settings, device=device, metrics=metrics, jobs=jobs)

    def warm_up(self) -> None:
        """Run a warm-up op on the default device and pay FlopCounterMode's one-time set-up
        (about a second, otherwise the first summary's), then mark the process ready."""
        try:
            self.warm_up_seconds = warm_up(self.device)
            flops.warm_up()
            log.info("device %s warmed up in %.3fs", self.device, self.warm_up_seconds)
            self.ready.set()
        except Exception:  # pragma: no cover - a broken device keeps /readyz at 503
            log.exception("warm-up on %s failed", self.device)

    def start_warm_up(self) -> threading.Thread:
        """Warm up in a background thread, so /healthz answers while a GPU initialises."""
        thread = threading.Thread(target=self.warm_up, name="layerscope-warm-up", daemon=True)
        thread.start()
        return thread


async def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the runtime of the app serving this request (`async`, so FastAPI
    calls it on the event loop rather than through a thread-pool hop)."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def _torch_job(runtime: Annotated[Runtime, Depends(get_runtime)]) -> AsyncIterator[None]:
    async with runtime.jobs.slot():
        start = time.perf_counter()
        try:
            yield
        finally:
            runtime.metrics.job_seconds.observe(time.perf_counter() - start)


TorchJob = Depends(_torch_job, scope="function")
"""Route dependency: hold a torch job slot (bounded queue, deadline) around the route."""
