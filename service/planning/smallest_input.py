"""The smallest square input a model takes, searched on the meta device (no memory), for the
fix of a 422 when an input is too small for it."""

from collections.abc import Callable

import torch
from torch import nn

from service.planning.fit import Received

MAX_SIDE = 4096


def _fits(build: Callable[[], nn.Module], received: Received, side: int) -> bool:
    shape = [*received.shape[:-2], side, side]
    model = build().train(received.training)
    try:
        with torch.no_grad():
            model(torch.empty(shape, dtype=received.dtype, device="meta"))
    except (RuntimeError, ValueError, IndexError, TypeError, AssertionError):
        return False
    return True


def smallest_square(
    build: Callable[[], nn.Module], received: Received, hint: list[int]
) -> list[int] | None:
    """The smallest [S, S] (height and width of the input, other dimensions as received) on
    which `build()` runs, or None when none up to MAX_SIDE does or the input has no spatial
    dimensions. `hint` (torchvision's documented minimum) is tried first; the search then
    narrows the bounds by bisection, assuming larger inputs fit once one does."""
    if len(received.shape) < 3:
        return None
    start = max(1, min(hint))
    high = start
    while not _fits(build, received, high):
        if high >= MAX_SIDE:
            return None
        high = min(MAX_SIDE, high * 2)
    low = 0 if high == start else high // 2
    while high - low > 1:
        middle = (low + high) // 2
        if _fits(build, received, middle):
            high = middle
        else:
            low = middle
    return [high, high]
