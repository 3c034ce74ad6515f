"""What a layer receives, and why it may not fit: the input's shape and dtype, the mode, and a
Misfit that says what the layer expects and which argument to set."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch


@dataclass(frozen=True)
class Received:
    """The input a layer receives: shape, dtype, and whether it runs in train mode."""

    shape: list[int]
    dtype: torch.dtype = torch.float32
    training: bool = False

    @property
    def rank(self) -> int:
        """The number of dimensions."""
        return len(self.shape)


@dataclass(frozen=True)
class Misfit:
    """Why an input does not fit a layer: what it expects, and the fix."""

    expects: str
    fix: str
    slug: str = "shape-mismatch"
    """The problem type: `shape-mismatch`, or `dtype-mismatch` for integer input to a float
    layer."""
    suggestion: tuple[str, Any] | None = None
    """Where one argument's new value makes it fit: (argument, value), e.g. ("in_features",
    2880); a client can apply it in one click."""

    def sentence(self, who: str, shape: list[int]) -> str:
        """Say it in one line: '<who> expects X but receives [..]; <fix>'."""
        return f"{who} expects {self.expects} but receives {shape}; {self.fix}"


def dim_range(rank: int) -> str:
    """The dimensions a tensor of `rank` has, as PyTorch counts them (a 0-d one has -1 and 0)."""
    return f"between {-max(rank, 1)} and {max(rank, 1) - 1}"


def dim_misfit(name: str, dim: int, rank: int) -> Misfit | None:
    """A dimension argument outside the input's dimensions."""
    if -max(rank, 1) <= dim < max(rank, 1):
        return None
    return Misfit(f"{name}={dim} to be a dimension of the input", f"set {name} {dim_range(rank)}")


def rank_misfit(
    received: Received, ranks: tuple[int, ...], expects: str, example: str | None = None
) -> Misfit | None:
    """An input whose rank is not one of `ranks`; `expects` says which, e.g. 'a 4-D input
    [N, C, H, W]'; `example` is a shape to reshape to."""
    if received.rank in ranks:
        return None
    fix = f"reshape the input, e.g. to {example}" if example else "reshape the input"
    return Misfit(expects, fix)


Misfitter = Callable[[Any, Received], Misfit | None]
"""A layer type's misfit check: (spec, what it receives) -> why it does not fit, or None."""
