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


# --- pipelines over the whole vocabulary (issue 12) ---------------------------------------------

MIXED_ACTIVATIONS: list[dict[str, Any]] = [
    {"type": "activation", "name": "relu6"},
    {"type": "activation", "name": "hardswish"},
    {"type": "activation", "name": "hardsigmoid"},
    {"type": "activation", "name": "hardtanh", "min_val": -0.5, "max_val": 2.0},
    {"type": "activation", "name": "softplus", "beta": 2.0},
    {"type": "activation", "name": "mish"},
    {"type": "activation", "name": "selu"},
    {"type": "activation", "name": "celu", "alpha": 0.7},
    {"type": "activation", "name": "softsign"},
    {"type": "activation", "name": "tanhshrink"},
    {"type": "activation", "name": "logsigmoid"},
    {"type": "activation", "name": "threshold", "threshold": 0.1, "value": -1.0},
    *ACTIVATIONS,
]


def _mixed_spatial(rng: random.Random, shape: list[int]) -> dict[str, Any]:
    """One layer for a [N, C, H, W] input, from the wider vocabulary."""
    channels = shape[1]
    kind = rng.choice(
        [
            "conv2d",
            "convtranspose2d",
            "batchnorm2d",
            "groupnorm",
            "instancenorm2d",
            "localresponsenorm",
            "avgpool2d",
            "maxpool2d",
            "adaptiveavgpool2d",
            "adaptivemaxpool2d",
            "lppool2d",
            "dropout",
            "dropout2d",
            "upsample",
            "zeropad2d",
            "pixelshuffle",
            "prelu",
            "activation",
        ]
    )
    if kind == "conv2d":
        groups = rng.choice([g for g in (1, 2) if channels % g == 0])
        return {
            "type": "conv2d",
            "in_channels": channels,
            "out_channels": groups * rng.randint(1, 4),
            "kernel_size": rng.choice([1, 3, [3, 1]]),
            "stride": rng.choice([1, 2]),
            "padding": rng.choice([0, 1]),
            "groups": groups,
            "bias": rng.choice([True, False]),
        }
    if kind == "convtranspose2d":
        return {
            "type": "convtranspose2d",
            "in_channels": channels,
            "out_channels": rng.randint(1, 4),
            "kernel_size": rng.choice([2, 3]),
            "stride": rng.choice([1, 2]),
        }
    if kind == "batchnorm2d":
        return {
            "type": "batchnorm2d",
            "num_features": channels,
            "momentum": rng.choice([0.1, None]),
        }
    if kind == "groupnorm":
        groups = rng.choice([g for g in (1, 2, 4) if channels % g == 0])
        return {"type": "groupnorm", "num_groups": groups, "num_channels": channels}
    if kind == "instancenorm2d":
        return {"type": "instancenorm2d", "num_features": channels, "affine": rng.random() < 0.5}
    if kind == "localresponsenorm":
        return {"type": "localresponsenorm", "size": rng.randint(1, 3)}
    if kind in ("avgpool2d", "maxpool2d"):
        return {"type": kind, "kernel_size": 2, "stride": rng.choice([1, 2])}
    if kind in ("adaptiveavgpool2d", "adaptivemaxpool2d"):
        return {"type": kind, "output_size": rng.choice([2, [3, 2], [None, 2]])}
    if kind == "lppool2d":
        return {"type": "lppool2d", "norm_type": rng.choice([1.0, 2.0]), "kernel_size": 2}
    if kind in ("dropout", "dropout2d"):
        return {"type": kind, "p": rng.choice([0.1, 0.5])}
    if kind == "upsample":
        return {"type": "upsample", "scale_factor": 2, "mode": rng.choice(["nearest", "bilinear"])}
    if kind == "zeropad2d":
        return {"type": "zeropad2d", "padding": rng.choice([1, [1, 0, 2, 1]])}
    if kind == "pixelshuffle":
        return {"type": "pixelshuffle", "upscale_factor": 2}
    if kind == "prelu":
        return {"type": "activation", "name": "prelu", "num_parameters": rng.choice([1, channels])}
    return dict(rng.choice(MIXED_ACTIVATIONS))


def mixed_pipeline(rng: random.Random) -> tuple[list[dict[str, Any]], list[int]]:
    """(layer specs, input shape) of a valid pipeline over the wider vocabulary: 2 to 5 spatial
    layers (convolutions, norms, pools, dropout, upsampling, padding, pixel shuffles,
    activations), then flatten, layer norm or batchnorm1d, linear layers and an activation."""
    shape = [rng.randint(2, 3), rng.choice([2, 4]), rng.randint(6, 12), rng.randint(6, 12)]
    specs: list[dict[str, Any]] = []
    current = list(shape)
    if rng.random() < 0.7:  # the usual stem: conv -> batchnorm -> activation
        out_channels = rng.choice([2, 4, 6])
        stem = [
            {
                "type": "conv2d",
                "in_channels": shape[1],
                "out_channels": out_channels,
                "kernel_size": 3,
                "padding": 1,
                "bias": False,
            },
            {"type": "batchnorm2d", "num_features": out_channels},
            dict(rng.choice(MIXED_ACTIVATIONS[:4])),
        ]
        for spec in stem:
            out = _out_shape(spec, current)
            assert out is not None
            specs.append(spec)
            current = out
    wanted = len(specs) + rng.randint(2, 4)
    while len(specs) < wanted:
        spec = _mixed_spatial(rng, current)
        out = _out_shape(spec, current)
        if out is None or len(out) != 4 or min(out) < 1 or out[1] * out[2] * out[3] > 4096:
            continue
        specs.append(spec)
        current = out
    specs.append({"type": "flatten"})
    features = current[1] * current[2] * current[3]
    if rng.random() < 0.5:
        specs.append({"type": "layernorm", "normalized_shape": features})
    else:
        specs.append({"type": "batchnorm1d", "num_features": features})
    specs.append({"type": "linear", "in_features": features, "out_features": 8})
    specs.append(dict(rng.choice(MIXED_ACTIVATIONS)))
    specs.append({"type": "dropout", "p": 0.25})
    specs.append({"type": "linear", "in_features": 8, "out_features": rng.randint(2, 5)})
    return specs, shape


MIXED_PIPELINES: list[tuple[list[dict[str, Any]], list[int]]] = [
    mixed_pipeline(random.Random(1000 + seed)) for seed in range(20)
]
"""20 generated pipelines mixing the wider vocabulary, the same on every run."""
