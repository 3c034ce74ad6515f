"""Forward FLOPs of a layer, counted by PyTorch's own FlopCounterMode on the meta device.

FLOPs here are floating-point operations, not multiply-accumulates: FlopCounterMode counts a
multiply-add as 2 (a [M, K] @ [K, N] matmul is 2*M*K*N). It counts only the operations it has
formulas for (matmuls, convolutions, attention); element-wise work such as activations, bias
additions, pooling, softmax and reshapes counts 0. Meta tensors carry shapes only, so counting
allocates nothing and costs microseconds, whatever the shape.
"""

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def forward_flops(meta_module: nn.Module, shape: list[int]) -> int:
    """Return the FLOPs of one forward pass of `meta_module` (built on meta) on input `shape`."""
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        meta_module(torch.empty(shape, device="meta"))
    return int(counter.get_total_flops())


def warm_up() -> None:
    """Pay FlopCounterMode's one-time set-up (about a second) before the first request does."""
    with torch.device("meta"):
        forward_flops(nn.Linear(2, 2), [1, 2])
