"""FLOPs on meta equal FlopCounterMode's count of the same forward pass on real tensors."""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from service.planning.flops import forward_flops


def real_flops(module: nn.Module, shape: list[int]) -> int:
    counter = FlopCounterMode(display=False)
    with counter:
        module(torch.randn(shape))
    return int(counter.get_total_flops())


def test_meta_count_equals_real_count() -> None:
    cases: list[tuple[nn.Module, list[int]]] = [
        (nn.Conv2d(3, 8, 3, stride=2, padding=1), [2, 3, 9, 9]),
        (nn.Conv2d(4, 6, (3, 1), groups=2, bias=False), [1, 4, 7, 5]),
        (nn.Linear(12, 5), [3, 12]),
        (nn.Linear(12, 5, bias=False), [2, 4, 12]),
    ]
    for module, shape in cases:
        with torch.device("meta"):
            meta = type(module)(*_args(module))  # same constructor, on meta
        assert forward_flops(meta, shape) == real_flops(module, shape) > 0


def _args(module: nn.Module) -> tuple[object, ...]:
    if isinstance(module, nn.Linear):
        return (module.in_features, module.out_features, module.bias is not None)
    assert isinstance(module, nn.Conv2d)
    return (
        module.in_channels,
        module.out_channels,
        module.kernel_size,
        module.stride,
        module.padding,
        module.dilation,
        module.groups,
        module.bias is not None,
    )


def test_definition_multiply_add_is_two() -> None:
    with torch.device("meta"):
        linear = nn.Linear(7, 3)
    # [5, 7] @ [7, 3]: 5*7*3 multiply-adds = 210 FLOPs; the bias addition is not counted
    assert forward_flops(linear, [5, 7]) == 2 * 5 * 7 * 3


def test_elementwise_and_pooling_count_zero() -> None:
    with torch.device("meta"):
        layers = [nn.ReLU(), nn.MaxPool2d(2), nn.Softmax(dim=1), nn.Flatten(), nn.GELU()]
    for layer in layers:
        assert forward_flops(layer, [1, 2, 4, 4]) == 0
