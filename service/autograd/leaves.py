"""The leaves of a graph: sizes checked against the limits, explicit values decoded, random
values not drawn until the run."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from schemas.autograd import FillLeaf, LeafSpec, RandomLeaf
from service.building.seeding import seeded_randn
from service.planning.limits import check_elements
from service.settings import Settings
from service.tensors.codec import decode


@dataclass
class LeafPlan:
    """A leaf's shape, and how to make it on a device (random values are not drawn yet)."""

    shape: list[int]
    requires_grad: bool
    make: Callable[[torch.device], torch.Tensor]


def _decoded(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    return values.to(device)


def _filled(shape: list[int], fill: float, device: torch.device) -> torch.Tensor:
    return torch.full(shape, fill, device=device)


def _random(shape: list[int], seed: int, device: torch.device) -> torch.Tensor:
    return seeded_randn(shape, seed).to(device)


def plan_leaves(specs: dict[str, LeafSpec], settings: Settings) -> dict[str, LeafPlan]:
    """Check every leaf's size (413) and decode explicit values (422 naming the leaf)."""
    plans: dict[str, LeafPlan] = {}
    limit = settings.max_tensor_elements
    for name, spec in specs.items():
        field = f"body.tensors.{name}"
        if isinstance(spec, FillLeaf | RandomLeaf):
            check_elements(field, spec.shape, limit)
            shape = list(spec.shape)
            if isinstance(spec, FillLeaf):
                make = partial(_filled, shape, spec.fill)
            else:
                make = partial(_random, shape, spec.seed)
        else:
            values = decode(spec.tensor, f"{field}.tensor", limit)
            shape, make = list(values.shape), partial(_decoded, values)
        plans[name] = LeafPlan(shape, spec.requires_grad, make)
    return plans
