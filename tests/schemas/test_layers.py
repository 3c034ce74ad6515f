"""schemas/layer_specs: the union picks the variant by `type` (and `name`), bounds, defaults that
equal PyTorch's, and the cross-field rules PyTorch enforces."""

import inspect
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import TypeAdapter, ValidationError
from torch import nn

from schemas import layer_specs as L
from tests.direct import torch_class, torch_layer
from tests.helpers import tensor_from

SPEC: TypeAdapter[Any] = TypeAdapter(L.LayerSpec)


def errors(raw: Any) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        SPEC.validate_python(raw)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


@pytest.mark.parametrize(
    ("raw", "cls"),
    [
        ({"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}, L.Conv2dSpec),
        ({"type": "maxpool2d", "kernel_size": 2}, L.MaxPool2dSpec),
        ({"type": "linear", "in_features": 1, "out_features": 2}, L.LinearSpec),
        ({"type": "flatten"}, L.FlattenSpec),
        ({"type": "activation", "name": "relu"}, L.ReLUSpec),
        ({"type": "activation", "name": "leaky_relu"}, L.LeakyReLUSpec),
        ({"type": "activation", "name": "elu"}, L.ELUSpec),
        ({"type": "activation", "name": "gelu"}, L.GELUSpec),
        ({"type": "activation", "name": "silu"}, L.SiLUSpec),
        ({"type": "activation", "name": "sigmoid"}, L.SigmoidSpec),
        ({"type": "activation", "name": "tanh"}, L.TanhSpec),
        ({"type": "activation", "name": "softmax"}, L.SoftmaxSpec),
        ({"type": "activation", "name": "log_softmax"}, L.LogSoftmaxSpec),
    ],
)
def test_union_picks_the_variant(raw: dict[str, Any], cls: type) -> None:
    spec = SPEC.validate_python(raw)
    assert type(spec) is cls
    # Also from an instance (a model passed back in), the tag is found the same way.
    assert type(SPEC.validate_python(spec)) is cls


def test_activation_options_belong_to_their_own_name() -> None:
    assert errors({"type": "activation", "name": "relu", "dim": 1}) == [
        (("~activation:relu", "dim"), "extra_forbidden")
    ]
    assert errors({"type": "activation", "name": "softmax", "negative_slope": 0.1}) == [
        (("~activation:softmax", "negative_slope"), "extra_forbidden")
    ]
    spec = SPEC.validate_python({"type": "activation", "name": "leaky_relu", "negative_slope": 0.3})
    assert spec.negative_slope == 0.3


def test_unknown_field_rejected_at_its_location() -> None:
    raw = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "kernal": 3}
    assert errors(raw) == [(("~conv2d", "kernal"), "extra_forbidden")]


@pytest.mark.parametrize(
    "raw",
    [{}, {"type": "dense"}, {"type": "activation"}, {"type": "activation", "name": "swish"}, 3],
)
def test_unknown_type_or_name(raw: Any) -> None:
    assert errors(raw) == [((), "missing_layer_type")]


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        (
            {"type": "linear", "in_features": 0, "out_features": 1},
            "in_features",
            "greater_than_equal",
        ),
        (
            {"type": "linear", "in_features": 2**24 + 1, "out_features": 1},
            "in_features",
            "less_than_equal",
        ),
        ({"type": "flatten", "start_dim": 8}, "start_dim", "less_than_equal"),
        ({"type": "flatten", "end_dim": -9}, "end_dim", "greater_than_equal"),
        ({"type": "maxpool2d", "kernel_size": 1025}, "kernel_size", "less_than_equal"),
        ({"type": "activation", "name": "softmax", "dim": 8}, "dim", "less_than_equal"),
        (
            {"type": "activation", "name": "gelu", "approximate": "fast"},
            "approximate",
            "literal_error",
        ),
    ],
)
def test_bounds(raw: dict[str, Any], loc: str, kind: str) -> None:
    tag = "~" + raw["type"] + (":" + raw["name"] if "name" in raw else "")
    found = errors(raw)
    # For an int-or-pair union, the int member's error carries the bound.
    assert found[0][1] == kind
    assert found[0][0][:2] == (tag, loc)


def test_int_or_pair() -> None:
    base = {"type": "conv2d", "in_channels": 1, "out_channels": 1}
    assert SPEC.validate_python({**base, "kernel_size": [3, 5]}).kernel_size == [3, 5]
    kinds = {k for _, k in errors({**base, "kernel_size": [3, 5, 7]})}
    assert "too_long" in kinds
    kinds = {k for _, k in errors({**base, "kernel_size": [3]})}
    assert "too_short" in kinds
    assert L.ntuple(3, 2) == (3, 3) and L.ntuple([2, 4], 2) == (2, 4)


LAYERSCOPE_DEFAULTS = {("Softmax", "dim"), ("LogSoftmax", "dim"), ("Softmin", "dim")}
"""Where the API's default is not PyTorch's (an explicit last dim, not the implicit one)."""


@pytest.mark.parametrize("spec", L.ALL_SPECS, ids=lambda s: s.__name__)
def test_arguments_keep_pytorchs_names_and_defaults(spec: type[L.LayerSpecBase]) -> None:
    """Every field but the tags is a parameter of the torch.nn constructor, with its default
    (or required where PyTorch requires it); the class is found in torch.nn by the naming rule."""
    cls = torch_class(
        {
            "type": L.type_name(spec).split(":")[0],
            "name": spec.model_fields.get("name")
            and spec.model_fields["name"].annotation.__args__[0],
        }
    )  # type: ignore[union-attr]
    assert cls.__name__ == spec.TORCH_CLASS
    params = inspect.signature(cls).parameters
    for name, field in spec.model_fields.items():
        if name in spec.TAG_FIELDS:
            continue
        assert name in params, f"{spec.__name__}.{name} is not an argument of nn.{cls.__name__}"
        default = params[name].default
        if (cls.__name__, name) in LAYERSCOPE_DEFAULTS:
            assert field.default == -1 and default is None
        elif default is inspect.Parameter.empty:
            assert field.is_required(), f"{spec.__name__}.{name} must be required"
        else:
            assert not field.is_required() and field.default == default, (name, default)


def test_maxpool_stride_none_is_pytorchs_default_kernel_size(client: TestClient) -> None:
    spec = SPEC.validate_python({"type": "maxpool2d", "kernel_size": [3, 2]})
    assert spec.stride is None  # left to PyTorch, which takes the kernel size
    body = {"layer": spec.model_dump(exclude_unset=True), "input": {"shape": [1, 2, 9, 8]}}
    got = client.post("/v1/layers/inspect", json=body).json()
    direct = nn.MaxPool2d((3, 2))
    assert got["layer"]["repr"] == repr(direct)
    torch.manual_seed(0)
    x = torch.randn(1, 2, 9, 8)
    torch.testing.assert_close(tensor_from(got["output"]), direct(x))
    assert got["output"]["shape"] == [1, 2, 3, 4]  # stride (3, 2), not 1


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_dim_defaults_to_last_not_implicit(client: TestClient, name: str) -> None:
    body = {"layer": {"type": "activation", "name": name}, "input": {"shape": [2, 3, 4]}}
    got = client.post("/v1/layers/inspect", json=body).json()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 4)
    fn = torch.softmax if name == "softmax" else torch.log_softmax
    torch.testing.assert_close(tensor_from(got["output"]), fn(x, dim=-1))
    # PyTorch's implicit choice for a 3-d input (dim=None) is dim 0, which differs:
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        implicit = (nn.Softmax() if name == "softmax" else nn.LogSoftmax())(x)
    assert not torch.allclose(implicit, fn(x, dim=-1))


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (
            {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 1, "groups": 2},
            "in_channels (3) must be divisible by groups (2)",
        ),
        (
            {"type": "conv2d", "in_channels": 4, "out_channels": 3, "kernel_size": 1, "groups": 2},
            "out_channels (3) must be divisible by groups (2)",
        ),
        (
            {
                "type": "conv2d",
                "in_channels": 1,
                "out_channels": 1,
                "kernel_size": 3,
                "padding": "same",
                "stride": [1, 2],
            },
            "padding='same' works only with stride=1",
        ),
        (
            {"type": "maxpool2d", "kernel_size": [4, 2], "padding": [1, 2]},
            "padding ([1, 2]) must be at most half of kernel_size ([4, 2])",
        ),
    ],
)
def test_cross_field_rules_pytorch_enforces(raw: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError) as info:
        SPEC.validate_python(raw)
    (err,) = info.value.errors()
    assert err["type"] == "value_error"
    assert words in err["msg"]
    # PyTorch itself refuses the same arguments.
    with pytest.raises((ValueError, RuntimeError)):
        torch_layer(raw)(torch.zeros(1, raw.get("in_channels", 1), 8, 8))


def test_edge_values_pytorch_accepts_are_accepted() -> None:
    ok = {"type": "maxpool2d", "kernel_size": [4, 2], "padding": [2, 1]}
    assert SPEC.validate_python(ok).padding == [2, 1]
    same = {
        "type": "conv2d",
        "in_channels": 4,
        "out_channels": 6,
        "kernel_size": 3,
        "padding": "same",
        "groups": 2,
    }
    assert SPEC.validate_python(same).padding == "same"
