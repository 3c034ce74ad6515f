"""bench.plain_torch: a spec's layer equals the torch.nn module written by hand."""

from typing import Any

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from bench import plain_torch
from schemas.examples import SEED_PIPELINE, SEED_PIPELINE_SHAPES, SUMMARY_EXAMPLES


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (
            {
                "type": "conv2d",
                "in_channels": 16,
                "out_channels": 33,
                "kernel_size": [3, 5],
                "stride": [2, 1],
                "padding": [4, 2],
                "dilation": [3, 1],
            },
            nn.Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), dilation=(3, 1)),
        ),
        (
            {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "ceil_mode": True},
            nn.MaxPool2d(3, 2, ceil_mode=True),
        ),
        (
            {"type": "linear", "in_features": 7, "out_features": 2, "bias": False},
            nn.Linear(7, 2, bias=False),
        ),
        ({"type": "flatten", "start_dim": 0}, nn.Flatten(0)),
        ({"type": "activation", "name": "leaky_relu", "negative_slope": 0.2}, nn.LeakyReLU(0.2)),
        ({"type": "activation", "name": "softmax", "dim": 1}, nn.Softmax(dim=1)),
        ({"type": "activation", "name": "gelu", "approximate": "tanh"}, nn.GELU("tanh")),
    ],
)
def test_layer_is_the_torch_module(spec: dict[str, Any], expected: nn.Module) -> None:
    built = plain_torch.layer(spec)
    assert type(built) is type(expected)
    assert repr(built) == repr(expected)
    shapes = {k: v.shape for k, v in built.state_dict().items()}
    assert shapes == {k: v.shape for k, v in expected.state_dict().items()}


def test_seed_pipeline_shapes() -> None:
    model = plain_torch.sequential(SEED_PIPELINE)
    x = torch.randn(1, 1, 28, 28)
    for module, shape in zip(model, SEED_PIPELINE_SHAPES, strict=True):
        x = module(x)
        assert list(x.shape) == shape


def test_large_batch_on_meta_counts_the_known_flops() -> None:
    example = SUMMARY_EXAMPLES["large_batch"]["value"]
    with torch.device("meta"):
        model = plain_torch.sequential(example["layers"])
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        out = model(torch.empty(example["input_shape"], device="meta"))
    assert list(out.shape) == [64, 10]
    # conv: 2 * outputs * in_channels * 3 * 3; linear: 2 * 64 * 1024 * 10
    assert counter.get_total_flops() == 2 * 64 * 16 * 1024 * 1024 * 27 + 2 * 64 * 1024 * 10
