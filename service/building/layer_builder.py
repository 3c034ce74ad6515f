"""Build torch.nn modules from layer specs, and describe them."""

from typing import Any

import torch
from torch import nn

from schemas.layer_specs import LayerSpec


def build_layer(spec: LayerSpec) -> nn.Module:
    """Construct the module a spec names with PyTorch's own constructor (current RNG, device):
    `getattr(torch.nn, spec.TORCH_CLASS)(**spec.arguments())`."""
    cls: type[nn.Module] = getattr(nn, spec.TORCH_CLASS)
    return cls(**spec.arguments())


def layer_label(spec: LayerSpec) -> str:
    """Return a short name for a spec: its type, or the activation's name."""
    return spec.label()


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
