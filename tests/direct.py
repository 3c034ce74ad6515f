"""Layers straight from torch.nn (not through the service), for the tests' direct runs: the
benchmarks' plain builder, which finds each class in torch.nn by the API's naming rule."""

from bench.plain_torch import ACTIVATIONS, LAYERS, layer, sequential, torch_class

torch_layer = layer
"""`nn.<Layer>(**args)` from a raw spec dict: the argument names are PyTorch's own."""

__all__ = ["ACTIVATIONS", "LAYERS", "sequential", "torch_class", "torch_layer"]
