"""Run a module forward (and backward) on a device, timing the torch work.

This is the only place tensors are computed; callers plan and check everything beforehand.
"""

import time
from contextlib import nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from schemas.requests import GradOutputBackward, TargetBackward
from service.devices import synchronize
from service.errors import unprocessable


@dataclass
class Execution:
    """The tensors and timings of one run."""

    input: torch.Tensor
    output: torch.Tensor
    forward_ms: float
    backward_ms: float | None


def run(
    module: nn.Module,
    x: torch.Tensor,
    *,
    device: torch.device,
    requires_grad: bool,
    backward: TargetBackward | GradOutputBackward | None,
    grad_output: torch.Tensor | None = None,
) -> Execution:
    """Move `module` and `x` to `device`, run forward, then backward when asked.

    Forward-only runs happen under torch.no_grad(). With a backward pass the output keeps its
    gradient (retain_grad), as do the input (when it requires grad) and the parameters.
    """
    module.to(device)
    x = x.to(device).requires_grad_(requires_grad)
    synchronize(device)
    start = time.perf_counter()
    with torch.no_grad() if backward is None else nullcontext():
        y = module(x)
    synchronize(device)
    forward_ms = (time.perf_counter() - start) * 1e3
    if backward is None:
        return Execution(x, y, forward_ms, None)
    if y.grad_fn is None:
        raise unprocessable(
            "nothing-to-differentiate",
            "body.backward",
            "the output does not depend on anything that requires grad",
            "set input.requires_grad=true, or use a layer with parameters",
        )
    y.retain_grad()
    start = time.perf_counter()
    if isinstance(backward, TargetBackward):
        target = y.sum() if backward.target == "sum" else y.mean()
        target.backward()
    else:
        assert grad_output is not None
        y.backward(grad_output.to(device))
    synchronize(device)
    return Execution(x, y, forward_ms, (time.perf_counter() - start) * 1e3)
