"""The op table: the only things a step of an autograd graph can do (nothing is evaluated)."""

import operator
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from schemas.autograd import OpSpec

Arg = torch.Tensor | int | float


@dataclass(frozen=True)
class OpDef:
    """One entry of the op table: what to call, with how many arguments, and which options."""

    fn: Callable[..., torch.Tensor]
    arity: int
    numbers: bool
    """Whether numbers may stand for arguments (at least one argument is always a tensor)."""
    options: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    python: str = ""
    """How the step reads in PyTorch, for messages, e.g. `a + b`."""


def _reduce(
    method: str, t: torch.Tensor, dim: int | list[int] | None = None, keepdim: bool | None = None
) -> torch.Tensor:
    if dim is None:
        result: torch.Tensor = getattr(t, method)()
    else:
        result = getattr(t, method)(dim=dim, keepdim=bool(keepdim))
    return result


def _view(t: torch.Tensor, shape: list[int]) -> torch.Tensor:
    return t.view(shape)


def _reshape(t: torch.Tensor, shape: list[int]) -> torch.Tensor:
    return t.reshape(shape)


def _detach(t: torch.Tensor) -> torch.Tensor:
    return t.detach()


_REDUCE = frozenset({"dim", "keepdim"})
_SHAPE = frozenset({"shape"})

OPS: dict[str, OpDef] = {
    "add": OpDef(operator.add, 2, True, python="a + b"),
    "sub": OpDef(operator.sub, 2, True, python="a - b"),
    "mul": OpDef(operator.mul, 2, True, python="a * b"),
    "div": OpDef(operator.truediv, 2, True, python="a / b"),
    "pow": OpDef(operator.pow, 2, True, python="a ** b"),
    "neg": OpDef(operator.neg, 1, False, python="-a"),
    "exp": OpDef(torch.exp, 1, False, python="torch.exp(a)"),
    "log": OpDef(torch.log, 1, False, python="torch.log(a)"),
    "sqrt": OpDef(torch.sqrt, 1, False, python="torch.sqrt(a)"),
    "abs": OpDef(torch.abs, 1, False, python="torch.abs(a)"),
    "relu": OpDef(torch.relu, 1, False, python="torch.relu(a)"),
    "sigmoid": OpDef(torch.sigmoid, 1, False, python="torch.sigmoid(a)"),
    "tanh": OpDef(torch.tanh, 1, False, python="torch.tanh(a)"),
    "matmul": OpDef(operator.matmul, 2, False, python="a @ b"),
    "sum": OpDef(partial(_reduce, "sum"), 1, False, _REDUCE, python="a.sum(dim, keepdim)"),
    "mean": OpDef(partial(_reduce, "mean"), 1, False, _REDUCE, python="a.mean(dim, keepdim)"),
    "view": OpDef(_view, 1, False, _SHAPE, _SHAPE, python="a.view(shape)"),
    "reshape": OpDef(_reshape, 1, False, _SHAPE, _SHAPE, python="a.reshape(shape)"),
    "detach": OpDef(_detach, 1, False, python="a.detach()"),
}
"""The op table: the only things a step can do."""

_OPTIONS = ("dim", "keepdim", "shape")


def step_label(index: int, op: OpSpec) -> str:
    """Name a step in messages: step `b` (ops[0], add)."""
    return f"step `{op.name}` (ops[{index}], {op.op})"


def op_options(op: OpSpec) -> dict[str, Any]:
    """The options a step gives (dim, keepdim, shape), as keyword arguments."""
    return {key: getattr(op, key) for key in _OPTIONS if getattr(op, key) is not None}
