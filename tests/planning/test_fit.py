"""Misfit explanations: what the layer expects, what it receives, and the fix."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from schemas.layer_specs import LayerSpec
from service.planning.fit import Received, misfit, output_on_meta
from tests.direct import torch_layer

SPEC = TypeAdapter(LayerSpec)

# (spec, input shape, words the detail must hold)
MISFITS: list[tuple[dict[str, Any], list[int], list[str]]] = [
    (
        {"type": "linear", "in_features": 784, "out_features": 10},
        [1, 500],
        ["expects 784 input features", "[1, 500]", "set in_features=500"],
    ),
    (
        {"type": "linear", "in_features": 784, "out_features": 10},
        [1, 20, 12, 12],
        ["set in_features=12", "flatten"],
    ),
    (
        {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3},
        [1, 1, 28, 28],
        ["3 input channels", "[1, 1, 28, 28]", "set in_channels=1"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 7},
        [1, 1, 5, 5],
        ["at least 7", "set padding >= 1"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3, "dilation": 4},
        [1, 1, 6, 6],
        ["dilated to 9", "padding >= 2"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3},
        [28, 28],
        ["4-D input", "[1, C, H, W]"],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 4,
            "padding_mode": "reflect",
        },
        [1, 1, 4, 4],
        ["padding at most 3", "padding_mode='zeros'"],
    ),
    ({"type": "maxpool2d", "kernel_size": 5}, [1, 1, 3, 3], ["at least 5"]),
    ({"type": "maxpool2d", "kernel_size": 2}, [10], ["4-D input"]),
    ({"type": "flatten", "start_dim": 1}, [10], ["set start_dim between -1 and 0"]),
    ({"type": "flatten", "start_dim": 2, "end_dim": 1}, [2, 3, 4], ["swap them"]),
    ({"type": "activation", "name": "softmax", "dim": 2}, [1, 10], ["set dim between -2 and 1"]),
]


@pytest.mark.parametrize(("spec", "shape", "words"), MISFITS)
def test_misfit_is_a_422_that_teaches(
    client: TestClient, spec: dict[str, Any], shape: list[int], words: list[str]
) -> None:
    layer = SPEC.validate_python(spec)
    found = misfit(layer, shape)
    assert found is not None
    for word in words:  # the explanation itself holds the words, before any route words it
        assert word in found.sentence("the layer", shape), (word, found)
    # PyTorch agrees that this input does not fit.
    with pytest.raises((RuntimeError, ValueError, IndexError)):
        torch_layer(spec)(torch.zeros(shape))
    r = client.post("/v1/layers/inspect", json={"layer": spec, "input": {"shape": shape}})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "/problems/shape-mismatch"
    for word in words:
        assert word in problem["detail"], (word, problem["detail"])
    assert problem["errors"][0]["field"] == "body.layer"
    assert problem["context"]["received"] == shape


FITS: list[tuple[dict[str, Any], list[int]]] = [
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
        [20, 16, 50, 100],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 2,
            "out_channels": 4,
            "kernel_size": 9,
            "padding": "same",
        },
        [2, 5, 5],
    ),
    (
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        [1, 1, 7, 7],
    ),
    ({"type": "linear", "in_features": 3, "out_features": 1}, [3]),
    ({"type": "flatten", "start_dim": 0}, [4]),
    ({"type": "activation", "name": "log_softmax", "dim": -1}, [2, 2, 2]),
]


@pytest.mark.parametrize(("spec", "shape"), FITS)
def test_fitting_shapes_have_no_misfit_and_meta_shape_equals_real(
    spec: dict[str, Any], shape: list[int]
) -> None:
    layer = SPEC.validate_python(spec)
    assert misfit(layer, shape) is None
    real = torch_layer(spec)(torch.zeros(shape))
    with torch.device("meta"):
        meta = torch_layer(spec)
    assert list(output_on_meta(meta, Received(shape)).shape) == list(real.shape)
