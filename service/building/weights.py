"""Parameters of a built layer: from a seed, or from explicit tensors checked against shapes."""

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from schemas.requests import SeedWeights, StateWeights
from service.building.module_cache import seeded_module
from service.building.seeding import seeded
from service.errors import ProblemError, field_error
from service.planning.dtypes import DTypes
from service.tensors.codec import decode


def expected_state(meta_module: nn.Module) -> dict[str, list[int]]:
    """Return the state_dict names and shapes a module expects (from its meta twin)."""
    return {name: list(t.shape) for name, t in meta_module.state_dict().items()}


def load_state(
    make: Callable[[], nn.Module],
    meta_module: nn.Module,
    weights: StateWeights,
    field: str,
    max_elements: int,
    dtypes: DTypes | None = None,
) -> nn.Module:
    """Build a module with the given parameters and buffers; 422 naming each missing, unknown
    or misfit one. Each must have the dtype of its meta twin (built in the computation's
    dtype): float ones are cast only as `dtypes` allows, integer buffers stay integers."""
    dtypes = dtypes or DTypes()
    expected = expected_state(meta_module)
    expected_dtypes = {name: t.dtype for name, t in meta_module.state_dict().items()}
    problems: list[dict[str, Any]] = []
    for name in weights.state.keys() - expected.keys():
        problems.append(
            field_error(
                f"{field}.{name}",
                f"{name!r} is not a parameter or buffer of this model",
                f"use only: {', '.join(expected) or 'nothing (it has no parameters)'}",
            )
        )
    for name in expected.keys() - weights.state.keys():
        problems.append(
            field_error(
                f"{field}.{name}",
                f"{name!r} is missing",
                f"add {name} of shape {expected[name]} (every state_dict entry: parameters and "
                "buffers)",
            )
        )
    tensors: dict[str, torch.Tensor] = {}
    for name, data in weights.state.items():
        if name not in expected:
            continue
        tensor = decode(data, f"{field}.{name}", max_elements)
        if list(tensor.shape) != expected[name]:
            problems.append(
                field_error(
                    f"{field}.{name}",
                    f"{name} has shape {list(tensor.shape)}, the layer expects {expected[name]}",
                    f"send {name} with shape {expected[name]}",
                )
            )
        else:
            tensor = dtypes.conform(tensor, expected_dtypes[name], f"{field}.{name}")
        tensors[name] = tensor
    if problems:
        raise ProblemError(
            422,
            "state-mismatch",
            "; ".join(f"{p['message']} ({p['fix']})" for p in problems),
            title="Parameters do not fit the layer",
            errors=problems,
            context={"expected": expected},
        )
    with torch.device("meta"):
        module = make()
    module.load_state_dict(tensors, strict=True, assign=True)
    return module


def load_tensors(make: Callable[[], nn.Module], tensors: dict[str, torch.Tensor]) -> nn.Module:
    """Build a module holding `tensors` as its state (checked against its state_dict already):
    on meta and assigned, so nothing is initialised for nothing; where the module also has
    buffers outside its state_dict (computed at construction), it is built for real instead
    and the state loaded over it."""
    with torch.device("meta"):
        module = make()
    module.load_state_dict(tensors, strict=True, assign=True)
    if any(t.is_meta for t in (*module.parameters(), *module.buffers())):
        module = make()
        module.load_state_dict(tensors, strict=True, assign=True)
    return module


def materialize(
    make: Callable[[], nn.Module],
    meta_module: nn.Module,
    weights: SeedWeights | StateWeights | dict[str, torch.Tensor] | None,
    field: str,
    max_elements: int,
    cache_key: str | None = None,
    dtypes: DTypes | None = None,
) -> tuple[nn.Module, int | None]:
    """Build the real module (on CPU) from `weights` (a seed, explicit JSON state, or tensors
    from an uploaded safetensors file); return it and the seed used, if any.

    Seeded modules are built in float32 (the caller converts them to the computation's dtype,
    so a seed gives the same values, rounded, in every dtype); explicit state comes in the
    computation's dtype already (see `load_state`).

    With a `cache_key` (the spec's canonical JSON), seeded modules are built once per
    (key, seed) and handed out as copies (see `service.building.module_cache`).
    """
    if isinstance(weights, StateWeights):
        module = load_state(make, meta_module, weights, field, max_elements, dtypes)
        return module, None
    if isinstance(weights, dict):
        return load_tensors(make, weights), None
    seed = 0 if weights is None else weights.seed
    if cache_key is not None:
        return seeded_module(cache_key, seed, make), seed
    return seeded(seed, make), seed
