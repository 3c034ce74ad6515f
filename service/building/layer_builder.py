"""Build torch.nn modules from layer specs, and describe them."""

from typing import Any

import torch
from torch import nn

from schemas.layer_specs import (
    Conv2dSpec,
    ELUSpec,
    FlattenSpec,
    GELUSpec,
    LayerSpec,
    LeakyReLUSpec,
    LinearSpec,
    LogSoftmaxSpec,
    MaxPool2dSpec,
    ReLUSpec,
    SigmoidSpec,
    SiLUSpec,
    SoftmaxSpec,
    TanhSpec,
)


def _int_or_tuple(value: int | list[int]) -> int | tuple[int, int]:
    return value if isinstance(value, int) else (value[0], value[1])


def build_layer(spec: LayerSpec) -> nn.Module:
    """Construct the module a spec names, with PyTorch's own constructor (current RNG, device)."""
    match spec:
        case Conv2dSpec():
            padding: Any = (
                spec.padding if isinstance(spec.padding, str) else _int_or_tuple(spec.padding)
            )
            return nn.Conv2d(
                spec.in_channels,
                spec.out_channels,
                _int_or_tuple(spec.kernel_size),
                stride=_int_or_tuple(spec.stride),
                padding=padding,
                dilation=_int_or_tuple(spec.dilation),
                groups=spec.groups,
                bias=spec.bias,
                padding_mode=spec.padding_mode,
            )
        case MaxPool2dSpec():
            return nn.MaxPool2d(
                _int_or_tuple(spec.kernel_size),
                stride=None if spec.stride is None else _int_or_tuple(spec.stride),
                padding=_int_or_tuple(spec.padding),
                dilation=_int_or_tuple(spec.dilation),
                ceil_mode=spec.ceil_mode,
            )
        case LinearSpec():
            return nn.Linear(spec.in_features, spec.out_features, bias=spec.bias)
        case FlattenSpec():
            return nn.Flatten(spec.start_dim, spec.end_dim)
        case ReLUSpec():
            return nn.ReLU()
        case LeakyReLUSpec():
            return nn.LeakyReLU(spec.negative_slope)
        case ELUSpec():
            return nn.ELU(spec.alpha)
        case GELUSpec():
            return nn.GELU(approximate=spec.approximate)
        case SiLUSpec():
            return nn.SiLU()
        case SigmoidSpec():
            return nn.Sigmoid()
        case TanhSpec():
            return nn.Tanh()
        case SoftmaxSpec():
            return nn.Softmax(dim=spec.dim)
        case LogSoftmaxSpec():
            return nn.LogSoftmax(dim=spec.dim)
    raise AssertionError(f"unhandled layer spec {spec!r}")  # pragma: no cover


def layer_label(spec: LayerSpec) -> str:
    """Return a short name for a spec: its type, or the activation's name."""
    return str(getattr(spec, "name", spec.type))


def parameter_counts(module: nn.Module) -> tuple[int, int]:
    """Return (all, trainable) parameter element counts of a module."""
    total = trainable = 0
    for p in module.parameters():
        total += p.numel()
        if p.requires_grad:
            trainable += p.numel()
    return total, trainable


def describe_layer(spec: LayerSpec, module: nn.Module) -> dict[str, Any]:
    """Return the `layer` object of a response: type, repr and parameter counts."""
    total, trainable = parameter_counts(module)
    return {
        "type": layer_label(spec),
        "repr": repr(module),
        "parameter_count": total,
        "trainable_parameter_count": trainable,
    }


def build_on_meta(spec: LayerSpec) -> nn.Module:
    """Build a layer on the meta device: shapes without memory or random initialisation."""
    with torch.device("meta"):
        return build_layer(spec)


def build_model(specs: list[LayerSpec]) -> nn.Sequential:
    """Construct the pipeline as PyTorch would: `nn.Sequential(layer_0, layer_1, ...)`."""
    return nn.Sequential(*(build_layer(spec) for spec in specs))
