"""Capture what selected modules produce in a forward pass, without changing any result.

Forward hooks on the selected modules only (by qualified name) keep, per call, a copy of the
module's output (a later in-place op, such as torchvision's `ReLU(inplace=True)`, cannot change
it), its `grad_fn` as it was, and with a backward pass the gradient of the final target with
respect to it (a tensor hook, which PyTorch fires with the gradient of the value the module
returned, also when it was changed in place afterwards). With `inputs`, a pre-hook keeps a
copy of the module's input as it arrives and a tensor hook the gradient with respect to that
value (an in-place module, `ReLU(inplace=True)`, overwrites its input: read after the call, it
would be the output and its gradient). Hooks only read (they return None), and every handle is
removed when the block ends, also when it ends in an error, as torchinfo does.
"""

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


@dataclass
class Captured:
    """One call of one module: its output (a copy), autograd facts, and gradients."""

    output: torch.Tensor
    grad_fn: str | None
    requires_grad: bool
    grad: torch.Tensor | None = None
    input: torch.Tensor | None = None
    input_grad: torch.Tensor | None = None


@dataclass
class Capture:
    """Every call of every selected module: `calls[(name, call)]`."""

    calls: dict[tuple[str, int], Captured] = field(default_factory=dict)
    handles: list[RemovableHandle] = field(default_factory=list)


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a module's output or arguments (itself, or a tuple's first)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


_NOTHING = torch.empty(0)
"""A record's output until its module returns."""


def _grad_fn(tensor: torch.Tensor) -> str | None:
    return None if tensor.grad_fn is None else type(tensor.grad_fn).__name__


@contextmanager
def capture(
    model: nn.Module, names: Collection[str], inputs: Collection[str] = ()
) -> Iterator[Capture]:
    """Within the block, record each call of the modules `names` names (qualified names, `""`
    for the model itself); for those in `inputs`, their input and its gradient too."""
    found = Capture()
    counts: dict[str, int] = {}
    pending: dict[str, list[Captured]] = {}

    def keep_grad(record: Captured, attr: str) -> Any:
        def hook(grad: torch.Tensor) -> None:
            setattr(record, attr, grad.detach())

        return hook

    def on_pre(name: str) -> Any:
        def pre_hook(module: nn.Module, args: Any) -> None:
            x = first_tensor(args)
            record = Captured(_NOTHING, None, False)
            if x is not None:
                record.input = x.detach().clone()  # before an in-place module changes it
                if x.requires_grad and torch.is_grad_enabled():
                    handle = x.register_hook(keep_grad(record, "input_grad"))  # type: ignore[no-untyped-call]
                    found.handles.append(handle)
            pending.setdefault(name, []).append(record)

        return pre_hook

    def on_post(name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: Any) -> None:
            y = first_tensor(output)
            stack = pending.get(name)
            record = stack.pop() if stack else Captured(_NOTHING, None, False)
            if y is None:
                return
            call = counts.get(name, 0)
            counts[name] = call + 1
            record.output = y.detach().clone()
            record.grad_fn = _grad_fn(y)
            record.requires_grad = y.requires_grad
            if y.requires_grad:
                found.handles.append(y.register_hook(keep_grad(record, "grad")))  # type: ignore[no-untyped-call]
            found.calls[(name, call)] = record

        return hook

    try:
        for name in names:
            module = model.get_submodule(name)
            if name in inputs:
                found.handles.append(module.register_forward_pre_hook(on_pre(name)))
            found.handles.append(module.register_forward_hook(on_post(name)))
        yield found
    finally:
        for handle in found.handles:
            handle.remove()
        found.handles.clear()
