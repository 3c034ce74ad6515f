"""Run a module forward (and backward) on a device, timing the torch work.

The inspection features (one layer, a model) run here; callers plan and check everything
beforehand. The autograd graph runs its own steps (service.autograd.steps), and pictures are
drawn from the tensors a run leaves (service.images.rendering).
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from schemas.requests import GradOutputBackward, TargetBackward
from service.devices import synchronize
from service.errors import ProblemError, unprocessable
from service.jobs import check_deadline


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
    with out_of_memory_as_503(device):
        return _run(
            module,
            x,
            device=device,
            requires_grad=requires_grad,
            backward=backward,
            grad_output=grad_output,
        )


@contextmanager
def out_of_memory_as_503(device: torch.device) -> Iterator[None]:
    """Turn a CUDA out-of-memory error into a 503, after freeing the cached memory."""
    try:
        yield
    except torch.cuda.OutOfMemoryError as exc:
        if device.type == "cuda":
            torch.cuda.empty_cache()
        raise ProblemError(
            503,
            "device-out-of-memory",
            f"{device} ran out of memory for this request; its cache was freed, retry with "
            "smaller shapes (or later, when other requests finish)",
            title="Device out of memory",
            headers={"Retry-After": "1"},
            limit="device_memory",
        ) from exc


def _run(
    module: nn.Module,
    x: torch.Tensor,
    *,
    device: torch.device,
    requires_grad: bool,
    backward: TargetBackward | GradOutputBackward | None,
    grad_output: torch.Tensor | None,
) -> Execution:
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
    check_deadline("the backward pass")
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
