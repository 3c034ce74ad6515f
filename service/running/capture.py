"""Capture what each layer of an `nn.Sequential` produces, without changing any result.

Forward hooks keep each layer's output; a tensor hook on each output that requires grad keeps
the gradient of the final target with respect to it during backward. Hooks only read (they return
None), and every handle is removed when the block ends, also when it ends in an error, as
torchinfo does.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


@dataclass
class Capture:
    """Per-layer outputs and the gradients with respect to them (None where there is none)."""

    outputs: list[torch.Tensor | None]
    grads: list[torch.Tensor | None]
    handles: list[RemovableHandle] = field(default_factory=list)


@contextmanager
def capture(model: nn.Module) -> Iterator[Capture]:
    """Within the block, record each child layer's output and (during backward) its gradient."""
    layers = list(model.children())
    found = Capture([None] * len(layers), [None] * len(layers))

    def on_forward(index: int) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            found.outputs[index] = output
            if output.requires_grad:

                def keep(grad: torch.Tensor) -> None:
                    found.grads[index] = grad.detach()

                found.handles.append(output.register_hook(keep))  # type: ignore[no-untyped-call]

        return hook

    try:
        for index, layer in enumerate(layers):
            found.handles.append(layer.register_forward_hook(on_forward(index)))
        yield found
    finally:
        for handle in found.handles:
            handle.remove()
        found.handles.clear()
