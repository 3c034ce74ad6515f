"""Seeded construction that reproduces `torch.manual_seed(seed); ...` exactly, thread-safely.

Requests run in worker threads, and `torch.manual_seed` sets process-wide state; a lock and
`torch.random.fork_rng` keep one request's seeding from leaking into another's.
"""

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch

T = TypeVar("T")
_RNG_LOCK = threading.Lock()


def seeded(seed: int, make: Callable[[], T], cuda_devices: Sequence[int] = ()) -> T:
    """Return `make()` run right after `torch.manual_seed(seed)`, leaving global RNG untouched
    (the CPU's, and the CUDA devices' named, e.g. where a forward pass draws dropout masks)."""
    with _RNG_LOCK, torch.random.fork_rng(devices=list(cuda_devices)):
        torch.manual_seed(seed)
        return make()


def seeded_randn(shape: list[int], seed: int) -> torch.Tensor:
    """Return the values of `torch.manual_seed(seed); torch.randn(*shape)` (CPU, float32)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator)


def seeded_randint(shape: list[int], high: int, seed: int) -> torch.Tensor:
    """Return the values of `torch.manual_seed(seed); torch.randint(0, high, shape)` (int64)."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, high, shape, generator=generator)
