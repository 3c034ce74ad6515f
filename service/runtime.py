"""The per-process runtime: settings, the default device, and readiness."""

import logging
import threading
from dataclasses import dataclass, field

import torch
from fastapi import Request

from service.devices import default_device, warm_up
from service.settings import Settings

log = logging.getLogger("layerscope.runtime")


@dataclass
class Runtime:
    """What every request needs to know about this process."""

    settings: Settings
    device: torch.device
    ready: threading.Event = field(default_factory=threading.Event)
    warm_up_seconds: float | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "Runtime":
        """Resolve the configured device and apply the torch thread setting."""
        if settings.torch_threads:
            torch.set_num_threads(settings.torch_threads)
        return cls(settings=settings, device=default_device(settings.device))

    def warm_up(self) -> None:
        """Run a warm-up op on the default device, then mark the process ready."""
        try:
            self.warm_up_seconds = warm_up(self.device)
            log.info("device %s warmed up in %.3fs", self.device, self.warm_up_seconds)
            self.ready.set()
        except Exception:  # pragma: no cover - a broken device keeps /readyz at 503
            log.exception("warm-up on %s failed", self.device)

    def start_warm_up(self) -> threading.Thread:
        """Warm up in a background thread, so /healthz answers while a GPU initialises."""
        thread = threading.Thread(target=self.warm_up, name="layerscope-warm-up", daemon=True)
        thread.start()
        return thread


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the runtime of the app serving this request."""
    runtime: Runtime = request.app.state.runtime
    return runtime
