"""The report of a graph: every named tensor with its grad_fn, the named inputs of that
grad_fn (next_functions), its value and its `.grad`."""

from typing import Any

import torch

from schemas.autograd import AutogradRequest
from service.tensors.codec import encode
from service.tensors.report import grad_fn_name


class _GraphNames:
    """Maps autograd nodes back to the named tensors they belong to."""

    def __init__(self, env: dict[str, torch.Tensor]) -> None:
        # Strong references (the tensors in env, and the nodes here) keep every id valid.
        self.nodes: dict[int, tuple[Any, str]] = {}
        self.leaves: dict[int, str] = {}
        for name, tensor in env.items():
            if tensor.grad_fn is not None:
                self.nodes.setdefault(id(tensor.grad_fn), (tensor.grad_fn, name))
            elif tensor.requires_grad:
                self.leaves.setdefault(id(tensor), name)

    def inputs(self, node: Any) -> list[str | None]:
        """Names of the tensors `node`'s inputs come from, in next_functions order."""
        names: list[str | None] = []
        for child, _ in node.next_functions:
            names.extend(self._source(child))
        return names

    def _source(self, node: Any) -> list[str | None]:
        if node is None:
            return [None]
        if id(node) in self.nodes:
            return [self.nodes[id(node)][1]]
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            return [self.leaves.get(id(variable))]
        # A node PyTorch made inside one op (e.g. matmul's mm and views): follow it through.
        through: list[str | None] = [name for name in self.inputs(node) if name is not None]
        return through or [None]


def _grad(tensor: torch.Tensor) -> torch.Tensor | None:
    # Reading .grad of a non-leaf that does not retain it warns; PyTorch's answer is None.
    if tensor.is_leaf or tensor.retains_grad:
        return tensor.grad
    return None


def report(env: dict[str, torch.Tensor], request: AutogradRequest) -> dict[str, dict[str, Any]]:
    """Every named tensor, in definition order, as the response's `tensors` map."""
    graph = _GraphNames(env)
    made_by = {op.name: op.op for op in request.ops}
    encoding = request.encoding
    out: dict[str, dict[str, Any]] = {}
    for name, tensor in env.items():
        grad = _grad(tensor)
        out[name] = {
            "op": made_by.get(name),
            "shape": list(tensor.shape),
            "dtype": str(tensor.dtype).removeprefix("torch."),
            "requires_grad": tensor.requires_grad,
            "is_leaf": tensor.is_leaf,
            "grad_fn": grad_fn_name(tensor),
            "next_functions": [] if tensor.grad_fn is None else graph.inputs(tensor.grad_fn),
            "value": encode(tensor, with_values=True, encoding=encoding),
            "grad": None if grad is None else encode(grad, with_values=True, encoding=encoding),
        }
    return out
