"""schemas/requests.py: RunOptions defaults in use, the weights and backward unions, devices."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import ValidationError
from torch import nn

from schemas.requests import (
    ALL_INCLUDES,
    GradOutputBackward,
    LayerInspectRequest,
    LayerRenderRequest,
    SeedWeights,
    StateWeights,
    TargetBackward,
)

BASE = {"layer": {"type": "flatten"}, "input": {"shape": [1, 2]}}


def errors(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        LayerInspectRequest.model_validate(raw)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def test_defaults_are_what_the_service_does(client: TestClient) -> None:
    layer = {"type": "linear", "in_features": 2, "out_features": 3}
    got = client.post("/v1/layers/inspect", json={"layer": layer, "input": {"shape": [1, 2]}})
    assert got.status_code == 200, got.text
    body = got.json()
    torch.manual_seed(0)
    module = nn.Linear(2, 3)
    torch.manual_seed(0)
    x = torch.randn(1, 2)
    # weights: seed 0; input: seed 0; device: the service's (cpu here); no backward
    assert body["seeds"] == {"input": 0, "weights": 0, "forward": 0} and body["device"] == "cpu"
    assert body["output"]["grad"] is None and body["timing_ms"]["backward_ms"] is None
    # include: the values of every tensor, as JSON lists (encoding json)
    expected = {"input": x, "output": module(x), **dict(module.named_parameters())}
    reported = {"input": body["input"], "output": body["output"], **body["parameters"]}
    assert list(reported) == list(expected)
    for name, tensor in expected.items():
        assert "data_b64" not in reported[name]
        got_values = torch.tensor(reported[name]["data"]).reshape(tensor.shape)
        torch.testing.assert_close(got_values, tensor.detach(), msg=name)


def test_default_include_list_is_not_shared() -> None:
    r = LayerInspectRequest.model_validate(BASE)
    r.include.append("images")
    assert LayerInspectRequest.model_validate(BASE).include == list(ALL_INCLUDES)


def test_weights_and_backward_variants() -> None:
    r = LayerInspectRequest.model_validate({**BASE, "backward": {"target": "sum"}})
    assert isinstance(r.backward, TargetBackward) and r.backward.target == "sum"
    r = LayerInspectRequest.model_validate({**BASE, "weights": {"seed": 3}})
    assert isinstance(r.weights, SeedWeights) and r.weights.seed == 3
    r = LayerInspectRequest.model_validate(
        {**BASE, "weights": {"state": {"weight": {"data": [1.0]}}}}
    )
    assert isinstance(r.weights, StateWeights) and list(r.weights.state) == ["weight"]
    grad = {"grad_output": {"shape": [1, 2], "data": [1.0, 0.0]}}
    r = LayerInspectRequest.model_validate({**BASE, "backward": grad})
    assert isinstance(r.backward, GradOutputBackward)


def test_empty_weights_object_is_refused_not_seed_0() -> None:
    assert errors({**BASE, "weights": {}}) == [(("weights",), "missing_variant")]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"backward": {"target": "max"}}, [(("backward", "~target", "target"), "literal_error")]),
        ({"backward": {}}, [(("backward",), "missing_variant")]),
        (
            {"backward": {"target": "sum", "grad_output": {"data": [1.0]}}},
            [(("backward", "~grad_output", "target"), "extra_forbidden")],
        ),
        ({"include": ["weights"]}, [(("include", 0), "literal_error")]),
        ({"include": ["input"] * 9}, [(("include",), "too_long")]),
        ({"encoding": "hex"}, [(("encoding",), "literal_error")]),
        ({"device": "gpu"}, [(("device",), "string_pattern_mismatch")]),
        ({"device": "cuda:100"}, [(("device",), "string_pattern_mismatch")]),
        ({"verbose": True}, [(("verbose",), "extra_forbidden")]),
        ({"weights": {"seed": -1}}, [(("weights", "~seed", "seed"), "greater_than_equal")]),
    ],
)
def test_refused(extra: dict[str, Any], expected: list[Any]) -> None:
    assert errors({**BASE, **extra}) == expected


# ids other than the bare word "cuda", which conftest takes for the `cuda` marker.
@pytest.mark.parametrize("device", ["cpu", "cuda", "cuda:0", "cuda:15"], ids=lambda d: f"d={d}")
def test_devices_accepted(device: str) -> None:
    assert LayerInspectRequest.model_validate({**BASE, "device": device}).device == device


def test_missing_layer_and_input() -> None:
    assert errors({}) == [(("input",), "missing"), (("layer",), "missing")]


def test_state_holds_at_most_4096_tensors() -> None:
    state = {f"p{i}": {"data": [1.0]} for i in range(4097)}
    assert errors({**BASE, "weights": {"state": state}}) == [
        (("weights", "~state", "state"), "too_long")
    ]


def test_render_request_adds_render_options() -> None:
    r = LayerRenderRequest.model_validate({**BASE, "view": "weights", "scale": 4})
    assert (r.view, r.scale) == ("weights", 4)  # what the defaults do: tests/schemas/test_images
    with pytest.raises(ValidationError):
        LayerRenderRequest.model_validate({**BASE, "scale": 33})
