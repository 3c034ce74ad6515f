"""Layers from their JSON specs in plain torch.nn (never the service's builders), for floors, the
naive peer and the tests' direct runs.

The API's naming rule makes this independent of the service: `type` is the torch.nn class name
lowercased, and an activation's `name` is PyTorch's functional name (the table below), so the
class is found in `torch.nn` itself and called with the spec's own arguments ([h, w] lists
become tuples, as torch.nn writes them).
"""

from typing import Any

from torch import nn

ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "relu6": nn.ReLU6,
    "leaky_relu": nn.LeakyReLU,
    "prelu": nn.PReLU,
    "elu": nn.ELU,
    "celu": nn.CELU,
    "selu": nn.SELU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "mish": nn.Mish,
    "hardswish": nn.Hardswish,
    "hardsigmoid": nn.Hardsigmoid,
    "hardtanh": nn.Hardtanh,
    "hardshrink": nn.Hardshrink,
    "softshrink": nn.Softshrink,
    "softplus": nn.Softplus,
    "sigmoid": nn.Sigmoid,
    "logsigmoid": nn.LogSigmoid,
    "tanh": nn.Tanh,
    "tanhshrink": nn.Tanhshrink,
    "softsign": nn.Softsign,
    "threshold": nn.Threshold,
    "glu": nn.GLU,
    "softmax": nn.Softmax,
    "log_softmax": nn.LogSoftmax,
    "softmin": nn.Softmin,
}
"""torch.nn.functional's name of each activation -> its torch.nn class."""

LAYERS: dict[str, type[nn.Module]] = {
    name.lower(): cls
    for name, cls in vars(nn).items()
    if isinstance(cls, type) and issubclass(cls, nn.Module)
}
"""Every torch.nn module class by its lowercased name: `conv2d` -> nn.Conv2d."""

DIM_DEFAULTS = {nn.Softmax, nn.LogSoftmax, nn.Softmin}
"""The API's `dim` defaults to -1 where PyTorch's is implicit."""


def torch_class(raw: dict[str, Any]) -> type[nn.Module]:
    """The torch.nn class a raw spec names."""
    if raw["type"] == "activation":
        return ACTIVATIONS[raw["name"]]
    return LAYERS[raw["type"]]


def layer(raw: dict[str, Any]) -> nn.Module:
    """`nn.<Layer>(**args)` from a raw spec dict: the argument names are PyTorch's own."""
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    args.pop("type")
    args.pop("name", None)
    cls = torch_class(raw)
    if cls in DIM_DEFAULTS:
        args.setdefault("dim", -1)
    return cls(**args)


def sequential(specs: list[dict[str, Any]]) -> nn.Sequential:
    """A pipeline of layer specs as one `nn.Sequential`."""
    return nn.Sequential(*(layer(spec) for spec in specs))
