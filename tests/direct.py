"""Build a layer spec's module straight from torch.nn (not through the service), for checks."""

from typing import Any

from torch import nn

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
LAYERS: dict[str, type[nn.Module]] = {
    "conv2d": nn.Conv2d,
    "maxpool2d": nn.MaxPool2d,
    "linear": nn.Linear,
    "flatten": nn.Flatten,
}


def torch_layer(raw: dict[str, Any]) -> nn.Module:
    """`nn.<Layer>(**args)` from a raw spec dict: the argument names are PyTorch's own."""
    args = {k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()}
    kind = args.pop("type")
    if kind == "activation":
        cls = ACTIVATIONS[args.pop("name")]
        if cls in (nn.Softmax, nn.LogSoftmax):
            args.setdefault("dim", -1)
        return cls(**args)
    return LAYERS[kind](**args)
