"""Which devices this process can run torch on, how a request's device is chosen, and the torch
thread count of the thread a request runs in."""

import threading
import time

import torch

from service.errors import unprocessable


def available_devices() -> list[str]:
    """Return the device names this process can use: `cpu`, then `cuda:0` ... `cuda:N-1`."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    return names


def default_device(configured: str) -> torch.device:
    """Resolve the configured device (`auto`, `cpu`, `cuda`, `cuda:N`) to a torch.device.

    Raises ValueError when the configured device is not there, so start-up fails loudly.
    """
    if configured == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    device = _normalize(configured)
    if str(device) not in available_devices():
        raise ValueError(
            f"LAYERSCOPE_DEVICE={configured} is not available here; "
            f"devices: {', '.join(available_devices())}. Use auto or one of those."
        )
    return device


def _normalize(name: str) -> torch.device:
    device = torch.device(name)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", 0)
    return device


def resolve_device(requested: str | None, fallback: torch.device) -> torch.device:
    """Return the device a request asked for, or the service default; 422 if it is not here."""
    if requested is None:
        return fallback
    names = available_devices()
    try:
        device = _normalize(requested)
    except RuntimeError as exc:  # a name torch does not parse, e.g. "cuda:00"
        raise unprocessable(
            "device-unavailable",
            "body.device",
            f"device {requested!r} is not a device name",
            f"use one of: {', '.join(names)}",
            context={"available": names},
        ) from exc
    if str(device) not in names:
        raise unprocessable(
            "device-unavailable",
            "body.device",
            f"device {requested!r} is not available on this service",
            f"use one of: {', '.join(names)}",
            context={"available": names},
        )
    return device


def synchronize(device: torch.device) -> None:
    """Wait for queued work on `device` (a no-op on CPU), so timings are true."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def warm_up(device: torch.device) -> float:
    """Run a small op on `device` and wait for it; return the seconds it took."""
    start = time.perf_counter()
    x = torch.ones(64, 64, device=device)
    float((x @ x).sum().item())
    synchronize(device)
    return time.perf_counter() - start


_THREAD = threading.local()


def use_torch_threads(count: int) -> None:
    """Give the calling thread `count` torch threads (0: leave torch's default), once per thread.

    PyTorch's CPU kernels parallelise with OpenMP, which keeps the thread count per thread: the
    `torch.set_num_threads` of start-up holds in the main thread only, and a request's worker
    thread starts with OpenMP's default, every core. On a 2-core machine that made the small
    case's forward and backward take 7 ms in a worker thread against 0.3 ms with 1 thread set
    there."""
    if count and getattr(_THREAD, "torch_threads", None) != count:
        torch.set_num_threads(count)
        _THREAD.torch_threads = count
