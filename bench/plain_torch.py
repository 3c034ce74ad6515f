"""Layers from their JSON specs in plain torch.nn (never the service's builders), for floors and
for the naive peer: a spec's fields are the torch.nn constructor's keyword arguments."""

from typing import Any

from torch import nn

MODULES: dict[str, type[nn.Module]] = {
    "conv2d": nn.Conv2d,
    "maxpool2d": nn.MaxPool2d,
    "linear": nn.Linear,
    "flatten": nn.Flatten,
}
ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softmax": nn.Softmax,
    "log_softmax": nn.LogSoftmax,
}


def layer(spec: dict[str, Any]) -> nn.Module:
    """The torch.nn module of one layer spec (`{"type": "conv2d", "in_channels": 1, ...}`;
    activations by `name`); [h, w] pairs become tuples, as torch.nn writes them."""
    kind = spec["type"]
    cls = ACTIVATIONS[spec["name"]] if kind == "activation" else MODULES[kind]
    kwargs = {
        k: tuple(v) if isinstance(v, list) else v
        for k, v in spec.items()
        if k not in ("type", "name")
    }
    return cls(**kwargs)


def sequential(specs: list[dict[str, Any]]) -> nn.Sequential:
    """A pipeline of layer specs as one `nn.Sequential`."""
    return nn.Sequential(*(layer(spec) for spec in specs))
