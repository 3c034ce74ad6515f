"""Run a module forward (and backward) on a device, timing the torch work.

The inspection features (one layer, a model) run here; callers plan and check everything
beforehand. The autograd graph runs its own steps (service.autograd.steps), and pictures are
drawn from the tensors a run leaves (service.images.rendering).
"""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from schemas.requests import GradOutputBackward, TargetBackward
from service.building.seeding import seeded
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


@dataclass(frozen=True)
class RunConfig:
    """Where and how a run goes: device, dtype, train or eval mode, the forward pass's seed."""

    device: torch.device
    dtype: torch.dtype = torch.float32
    training: bool = False
    forward_seed: int = 0


def run(
    module: nn.Module,
    x: torch.Tensor,
    config: RunConfig,
    *,
    requires_grad: bool,
    backward: TargetBackward | GradOutputBackward | None,
    grad_output: torch.Tensor | None = None,
) -> Execution:
    """Move `module` to the device and dtype, set its mode, run forward (after
    `torch.manual_seed(forward_seed)` in train mode, where it may draw random numbers),
    then backward when asked.

    Forward-only runs happen under torch.no_grad(). With a backward pass the output keeps its
    gradient (retain_grad), as do the input (when it requires grad) and the parameters. A
    kernel PyTorch lacks for the dtype on the device, and any refusal of PyTorch's on these
    values, is a 422 naming it.
    """
    with out_of_memory_as_503(config.device), torch_refusals_as_422(config):
        return _run(
            module,
            x,
            config,
            requires_grad=requires_grad,
            backward=backward,
            grad_output=grad_output,
        )


def draws_random(module: nn.Module) -> bool:
    """Whether a forward pass of `module` in its current mode may draw random numbers: any in
    train mode. Dropout layers are not the only ones that do (torchvision's StochasticDepth
    calls torch.rand, attention calls dropout functionally), and none can be told from outside,
    so every train-mode forward runs after `torch.manual_seed(forward_seed)`."""
    return module.training


_MISSING_KERNEL = re.compile(r"not implemented for '(\w+)'")


@contextmanager
def torch_refusals_as_422(config: RunConfig) -> Iterator[None]:
    """Turn PyTorch's refusals of a run into 422s: a kernel missing for the dtype on the device
    names the devices and dtypes that work; any other names PyTorch's reason."""
    try:
        yield
    except torch.cuda.OutOfMemoryError:
        raise
    except (RuntimeError, IndexError, ValueError, NotImplementedError) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        missing = _MISSING_KERNEL.search(text)
        if missing is not None:
            dtype = str(config.dtype).removeprefix("torch.")
            raise unprocessable(
                "dtype-unsupported",
                "body.dtype",
                f"PyTorch has no {dtype} kernel for this layer on {config.device} (PyTorch: "
                f"{reason})",
                f'use "dtype": "float32" or "float64" here, or a CUDA device for {dtype}',
                context={"dtype": dtype, "device": str(config.device), "torch": reason},
            ) from exc
        raise unprocessable(
            "run-failed",
            "body",
            f"PyTorch refused this run: {reason}",
            "check the input's values and the layer's arguments against PyTorch's message",
            context={"torch": reason},
        ) from exc


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
    config: RunConfig,
    *,
    requires_grad: bool,
    backward: TargetBackward | GradOutputBackward | None,
    grad_output: torch.Tensor | None,
) -> Execution:
    device = config.device
    module.to(device=device, dtype=config.dtype).train(config.training)
    x = x.to(device).requires_grad_(requires_grad and x.is_floating_point())
    cuda = [device.index or 0] if device.type == "cuda" else []

    def forward() -> torch.Tensor:
        with torch.no_grad() if backward is None else nullcontext():
            out: torch.Tensor = module(x)
            return out

    synchronize(device)
    start = time.perf_counter()
    y = seeded(config.forward_seed, forward, cuda) if draws_random(module) else forward()
    synchronize(device)
    forward_ms = (time.perf_counter() - start) * 1e3
    if backward is None:
        return Execution(x, y, forward_ms, None)
    check_deadline("the backward pass")
    if not y.requires_grad:  # an output that is its input (identity, eval dropout) has a grad
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
        target.backward()  # type: ignore[no-untyped-call]
    else:
        assert grad_output is not None
        y.backward(grad_output.to(device=device, dtype=y.dtype))  # type: ignore[no-untyped-call]
    synchronize(device)
    return Execution(x, y, forward_ms, (time.perf_counter() - start) * 1e3)
