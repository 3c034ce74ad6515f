"""Small hand-made modules with every case of torchinfo's listing that torchvision's
classification models lack: a module with parameters called twice, containers that never run
and are entered more than once, a module reachable by two paths, a container with parameters of
its own, frozen parameters, tied weights, a tuple output, modules that never run, rows deeper
than shown."""

from collections.abc import Callable

import torch
from torch import nn


class CalledTwice(nn.Module):
    """A block (with parameters) run twice: its second call, and its children's, are
    recursive, and counted once."""

    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(8, 8), nn.ReLU())
        self.head = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.block(self.block(x)))


class Interleaved(nn.Module):
    """Two ModuleLists that never run, entered twice each (listed again: recursive, and so
    their first listing too), a parameter of the model's own, and a frozen layer."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList([nn.Linear(8, 8), nn.Linear(8, 8)])
        self.norms = nn.ModuleList([nn.LayerNorm(8), nn.LayerNorm(8)])
        self.scale = nn.Parameter(torch.ones(8))
        self.frozen = nn.Linear(8, 8).requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage, norm in zip(self.stages, self.norms, strict=True):
            x = norm(stage(x))
        return self.frozen(x) * self.scale


class Split(nn.Module):
    """A container with a parameter of its own that returns a tuple; one branch 3 deep."""

    def __init__(self) -> None:
        super().__init__()
        self.left = nn.Linear(8, 8)
        self.right = nn.Sequential(nn.Sequential(nn.Linear(8, 3)))
        self.offset = nn.Parameter(torch.zeros(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.left(x), self.right(x) + self.offset


class TwoHeads(nn.Module):
    """A tuple-returning child, rows deeper than depth 3, a layer that never runs, and a
    partly frozen container."""

    def __init__(self) -> None:
        super().__init__()
        self.split = Split()
        self.unused = nn.Linear(100, 100)
        self.mixed = nn.Sequential(nn.Linear(11, 6), nn.Linear(6, 5).requires_grad_(False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = self.split(x)
        return self.mixed(torch.cat([a, b], -1))


class TwoPaths(nn.Module):
    """One layer reachable by two paths (`first.0` and `second.1`): torchinfo names it by the
    last, lists the containers it seems to leave and enter, and marks its second call."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Linear(8, 8)
        self.first = nn.Sequential(shared, nn.ReLU())
        self.second = nn.Sequential(nn.Tanh(), shared)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.second(self.first(x))


class TiedPair(nn.Module):
    """Two layers sharing one weight (tied, as a language model's embedding and output)."""

    def __init__(self) -> None:
        super().__init__()
        self.encode = nn.Linear(8, 8)
        self.decode = nn.Linear(8, 8)
        self.decode.weight = self.encode.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(torch.relu(self.encode(x)))


class Tied(nn.Module):
    """A container of tied layers: its row counts the shared weight once (80), each layer's
    row its own (72 each); torchinfo's total counts it once per layer."""

    def __init__(self) -> None:
        super().__init__()
        self.pair = TiedPair()
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pair(x))


ODD_MODULES: dict[str, tuple[Callable[[], nn.Module], list[int]]] = {
    "called_twice": (CalledTwice, [2, 8]),
    "interleaved": (Interleaved, [2, 8]),
    "two_heads": (TwoHeads, [2, 8]),
    "two_paths": (TwoPaths, [2, 8]),
    "tied": (Tied, [2, 8]),
}
"""Name -> (constructor, input size)."""
