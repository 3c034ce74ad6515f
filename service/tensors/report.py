"""Response objects for the tensors of a run: values, stats, gradients and autograd nodes."""

from typing import Any

import torch
from torch import nn

from schemas.requests import IncludeItem
from schemas.tensors import Encoding
from service.tensors.codec import encode


def grad_fn_name(tensor: torch.Tensor) -> str | None:
    """Return the class name of a tensor's autograd node (e.g. ConvolutionBackward0), or None."""
    return None if tensor.grad_fn is None else type(tensor.grad_fn).__name__


class TensorReporter:
    """Encodes the tensors of one run as `include` and `encoding` ask."""

    def __init__(self, include: list[IncludeItem], encoding: Encoding, backward: bool) -> None:
        self.include = frozenset(include)
        self.encoding = encoding
        self.backward = backward

    def _grad(self, grad: torch.Tensor | None) -> dict[str, Any] | None:
        if not self.backward or grad is None:
            return None
        return encode(grad, with_values="gradients" in self.include, encoding=self.encoding)

    def leaf(
        self, tensor: torch.Tensor, kind: IncludeItem, grad: torch.Tensor | None = None
    ) -> dict[str, Any]:
        """An input or parameter: values if `kind` is included, and its gradient.

        `grad` is the gradient when it was captured elsewhere (a tensor hook); default
        `tensor.grad`.
        """
        obj = encode(tensor, with_values=kind in self.include, encoding=self.encoding)
        obj["grad"] = self._grad(tensor.grad if grad is None else grad)
        return obj

    def output(self, tensor: torch.Tensor, grad: torch.Tensor | None = None) -> dict[str, Any]:
        """An output: values, gradient of the target with respect to it, grad_fn.

        Pass `grad` for an intermediate output whose gradient a tensor hook captured (its
        `.grad` is not kept); default `tensor.grad`.
        """
        obj = self.leaf(tensor, "output", grad)
        obj["grad_fn"] = grad_fn_name(tensor)
        obj["requires_grad"] = tensor.requires_grad
        return obj

    def parameters(self, module: nn.Module, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every parameter of a module by state_dict name, with its gradient."""
        return {prefix + name: self.leaf(p, "parameters") for name, p in module.named_parameters()}

    def buffers(self, module: nn.Module, prefix: str = "") -> dict[str, dict[str, Any]]:
        """Every buffer of a module by state_dict name (running statistics, counters), as it is
        now; values when `include` has `buffers`."""
        return {
            prefix + name: encode(b, with_values="buffers" in self.include, encoding=self.encoding)
            for name, b in module.named_buffers()
        }
