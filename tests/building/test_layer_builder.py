"""service/building/layer_builder.py: each spec builds what its torch.nn constructor builds."""

from typing import Any

import pytest
import torch
from pydantic import TypeAdapter
from torch import nn

from schemas.layer_specs import LayerSpec
from service.building.layer_builder import (
    build_layer,
    build_on_meta,
    describe_layer,
    layer_label,
    parameter_counts,
)

SPEC = TypeAdapter(LayerSpec)

CASES: list[tuple[dict[str, Any], Any]] = [
    (
        {"type": "conv2d", "in_channels": 3, "out_channels": 6, "kernel_size": 3},
        lambda: nn.Conv2d(3, 6, 3),
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 4,
            "out_channels": 8,
            "kernel_size": [3, 5],
            "stride": [2, 1],
            "padding": [1, 2],
            "dilation": [2, 1],
            "groups": 2,
            "bias": False,
            "padding_mode": "reflect",
        },
        lambda: nn.Conv2d(
            4,
            8,
            (3, 5),
            stride=(2, 1),
            padding=(1, 2),
            dilation=(2, 1),
            groups=2,
            bias=False,
            padding_mode="reflect",
        ),
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 2,
            "out_channels": 2,
            "kernel_size": 3,
            "padding": "same",
        },
        lambda: nn.Conv2d(2, 2, 3, padding="same"),
    ),
    ({"type": "maxpool2d", "kernel_size": 2}, lambda: nn.MaxPool2d(2)),
    (
        {
            "type": "maxpool2d",
            "kernel_size": [3, 2],
            "stride": [1, 2],
            "padding": [1, 1],
            "dilation": 2,
            "ceil_mode": True,
        },
        lambda: nn.MaxPool2d((3, 2), stride=(1, 2), padding=(1, 1), dilation=2, ceil_mode=True),
    ),
    ({"type": "linear", "in_features": 5, "out_features": 7}, lambda: nn.Linear(5, 7)),
    (
        {"type": "linear", "in_features": 5, "out_features": 7, "bias": False},
        lambda: nn.Linear(5, 7, bias=False),
    ),
    ({"type": "flatten"}, lambda: nn.Flatten()),
    ({"type": "flatten", "start_dim": 0, "end_dim": 2}, lambda: nn.Flatten(0, 2)),
    ({"type": "activation", "name": "relu"}, lambda: nn.ReLU()),
    (
        {"type": "activation", "name": "leaky_relu", "negative_slope": 0.2},
        lambda: nn.LeakyReLU(0.2),
    ),
    ({"type": "activation", "name": "elu", "alpha": 0.5}, lambda: nn.ELU(0.5)),
    (
        {"type": "activation", "name": "gelu", "approximate": "tanh"},
        lambda: nn.GELU(approximate="tanh"),
    ),
    ({"type": "activation", "name": "silu"}, lambda: nn.SiLU()),
    ({"type": "activation", "name": "sigmoid"}, lambda: nn.Sigmoid()),
    ({"type": "activation", "name": "tanh"}, lambda: nn.Tanh()),
    ({"type": "activation", "name": "softmax", "dim": 1}, lambda: nn.Softmax(dim=1)),
    ({"type": "activation", "name": "softmax"}, lambda: nn.Softmax(dim=-1)),
    ({"type": "activation", "name": "log_softmax"}, lambda: nn.LogSoftmax(dim=-1)),
]
IDS = [f"{c[0]['type']}-{c[0].get('name', i)}" for i, c in enumerate(CASES)]


def direct_counts(module: nn.Module) -> tuple[int, int]:
    params = list(module.parameters())
    return sum(p.numel() for p in params), sum(p.numel() for p in params if p.requires_grad)


@pytest.mark.parametrize(("raw", "make"), CASES, ids=IDS)
def test_build_layer_equals_the_torch_constructor(raw: dict[str, Any], make: Any) -> None:
    spec = SPEC.validate_python(raw)
    torch.manual_seed(0)
    built = build_layer(spec)
    torch.manual_seed(0)
    expected = make()
    assert type(built) is type(expected)
    assert repr(built) == repr(expected)
    assert parameter_counts(built) == direct_counts(expected)
    built_state, expected_state = built.state_dict(), expected.state_dict()
    assert list(built_state) == list(expected_state)
    for name, value in expected_state.items():
        torch.testing.assert_close(built_state[name], value, rtol=0, atol=0)


@pytest.mark.parametrize(("raw", "make"), CASES, ids=IDS)
def test_describe_layer(raw: dict[str, Any], make: Any) -> None:
    spec = SPEC.validate_python(raw)
    expected = make()
    total, trainable = direct_counts(expected)
    assert describe_layer(spec, build_layer(spec)) == {
        "type": raw.get("name", raw["type"]),
        "repr": repr(expected),
        "parameter_count": total,
        "trainable_parameter_count": trainable,
    }


def test_layer_label_is_type_or_activation_name() -> None:
    assert layer_label(SPEC.validate_python({"type": "flatten"})) == "flatten"
    spec = SPEC.validate_python({"type": "activation", "name": "gelu"})
    assert layer_label(spec) == "gelu"


def test_parameter_counts_exact_values_and_frozen_parameters() -> None:
    conv = nn.Conv2d(3, 8, (3, 5), groups=1)
    assert parameter_counts(conv) == (8 * 3 * 3 * 5 + 8, 8 * 3 * 3 * 5 + 8)
    conv.bias.requires_grad_(False)  # type: ignore[union-attr]
    assert parameter_counts(conv) == (8 * 3 * 3 * 5 + 8, 8 * 3 * 3 * 5)
    assert parameter_counts(nn.ReLU()) == (0, 0)


def test_build_on_meta_allocates_nothing_and_keeps_the_global_rng() -> None:
    spec = SPEC.validate_python({"type": "linear", "in_features": 4096, "out_features": 4096})
    state = torch.random.get_rng_state()
    module = build_on_meta(spec)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(p.device.type == "meta" for p in module.parameters())
    assert repr(module) == repr(nn.Linear(4096, 4096))
    assert parameter_counts(module) == (4096 * 4096 + 4096,) * 2
