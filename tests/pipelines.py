"""Deterministic generator of valid pipelines (layer specs as JSON), for the model tests."""

import random
from typing import Any

import torch

from tests.direct import torch_layer

ACTIVATIONS: list[dict[str, Any]] = [
    {"type": "activation", "name": "relu"},
    {"type": "activation", "name": "leaky_relu", "negative_slope": 0.2},
    {"type": "activation", "name": "elu", "alpha": 0.5},
    {"type": "activation", "name": "gelu", "approximate": "tanh"},
    {"type": "activation", "name": "silu"},
    {"type": "activation", "name": "sigmoid"},
    {"type": "activation", "name": "tanh"},
]


def _out_shape(spec: dict[str, Any], shape: list[int]) -> list[int] | None:
    """The output shape on meta, or None when the layer does not fit."""
    try:
        with torch.device("meta"):
            module = torch_layer(spec)
        with torch.no_grad():
            return list(module(torch.empty(shape, device="meta")).shape)
    except (RuntimeError, ValueError):
        return None


def _spatial_layer(rng: random.Random, channels: int) -> dict[str, Any]:
    kind = rng.choice(["conv2d", "conv2d", "maxpool2d", "activation"])
    if kind == "activation":
        return dict(rng.choice(ACTIVATIONS))
    kernel: int | list[int] = rng.choice([1, 2, 3, [2, 3], [3, 1]])
    if kind == "maxpool2d":
        return {
            "type": "maxpool2d",
            "kernel_size": kernel,
            "stride": rng.choice([None, 1, 2, [1, 2]]),
            "padding": rng.choice([0, 1])
            if min(kernel if isinstance(kernel, list) else [kernel]) >= 2
            else 0,
            "dilation": rng.choice([1, 1, 2]),
            "ceil_mode": rng.choice([False, False, True]),
        }
    groups = rng.choice([g for g in (1, 2) if channels % g == 0])
    return {
        "type": "conv2d",
        "in_channels": channels,
        "out_channels": groups * rng.randint(1, 4),
        "kernel_size": kernel,
        "stride": rng.choice([1, 2, [2, 1]]),
        "padding": rng.choice([0, 1, [1, 0]]),
        "dilation": rng.choice([1, 1, 2]),
        "groups": groups,
        "bias": rng.choice([True, True, False]),
        "padding_mode": rng.choice(["zeros", "zeros", "reflect", "circular"]),
    }


def random_pipeline(rng: random.Random) -> tuple[list[dict[str, Any]], list[int]]:
    """Return (layer specs, input shape) of a valid conv/pool -> flatten -> linear pipeline."""
    shape = [rng.randint(1, 3), rng.randint(1, 4), rng.randint(6, 14), rng.randint(6, 14)]
    specs: list[dict[str, Any]] = []
    current = list(shape)
    while len(specs) < rng.randint(1, 4):
        spec = _spatial_layer(rng, current[1])
        if spec.get("stride") is None:
            spec.pop("stride", None)
        out = _out_shape(spec, current)
        if out is None or min(out) < 1:
            continue
        specs.append(spec)
        current = out
    specs.append({"type": "flatten"})
    features = current[1] * current[2] * current[3]
    for _ in range(rng.randint(1, 2)):
        out_features = rng.randint(2, 8)
        specs.append(
            {
                "type": "linear",
                "in_features": features,
                "out_features": out_features,
                "bias": rng.choice([True, False]),
            }
        )
        features = out_features
        if rng.random() < 0.6:
            specs.append(dict(rng.choice(ACTIVATIONS)))
    if rng.random() < 0.5:
        specs.append(
            {"type": "activation", "name": rng.choice(["softmax", "log_softmax"]), "dim": 1}
        )
    return specs, shape


def direct_model(specs: list[dict[str, Any]], seed: int = 0) -> torch.nn.Sequential:
    """The same pipeline built straight from torch.nn, not by the service's builder:
    `torch.manual_seed(seed); nn.Sequential(nn.Conv2d(...), ...)`."""
    torch.manual_seed(seed)
    return torch.nn.Sequential(*(torch_layer(spec) for spec in specs))


PIPELINES: list[tuple[list[dict[str, Any]], list[int]]] = [
    random_pipeline(random.Random(seed)) for seed in range(24)
]
"""24 generated valid pipelines, the same on every run."""
