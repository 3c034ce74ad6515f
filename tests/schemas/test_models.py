"""schemas/models.py: pipeline requests, layer count bounds, render layer index."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.layer_specs import LinearSpec, ReLUSpec
from schemas.models import (
    MAX_MODEL_LAYERS,
    ModelInspectRequest,
    ModelRenderRequest,
    ModelSummaryRequest,
)

RELU = {"type": "activation", "name": "relu"}


def kinds(cls: Any, raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        cls.model_validate(raw)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def test_layers_are_layer_specs_in_order() -> None:
    r = ModelInspectRequest.model_validate(
        {
            "layers": [{"type": "linear", "in_features": 2, "out_features": 3}, RELU],
            "input": {"shape": [1, 2]},
        }
    )
    assert [type(layer) for layer in r.layers] == [LinearSpec, ReLUSpec]


def test_layer_count_bounds() -> None:
    assert MAX_MODEL_LAYERS == 1024
    assert kinds(ModelSummaryRequest, {"layers": [], "input_shape": [1]}) == [
        (("layers",), "too_short")
    ]
    many = {"layers": [RELU] * (MAX_MODEL_LAYERS + 1), "input_shape": [1]}
    assert kinds(ModelSummaryRequest, many) == [(("layers",), "too_long")]
    ok = ModelSummaryRequest.model_validate({**many, "layers": [RELU] * MAX_MODEL_LAYERS})
    assert len(ok.layers) == MAX_MODEL_LAYERS


def test_errors_located_by_layer_index() -> None:
    raw = {"layers": [RELU, {"type": "activation", "name": "relu", "x": 1}], "input_shape": [1]}
    assert kinds(ModelSummaryRequest, raw) == [
        (("layers", 1, "~activation:relu", "x"), "extra_forbidden")
    ]


def test_summary_request_is_strict() -> None:
    raw = {"layers": [RELU], "input_shape": [1], "input": {"shape": [1]}}
    assert kinds(ModelSummaryRequest, raw) == [(("input",), "extra_forbidden")]
    assert kinds(ModelSummaryRequest, {"layers": [RELU], "input_shape": [-1]}) == [
        (("input_shape", 0), "greater_than_equal")
    ]


def test_render_request_layer_index() -> None:
    base = {"layers": [RELU], "input": {"shape": [1]}}
    assert ModelRenderRequest.model_validate({**base, "layer": 0}).layer == 0
    assert ModelRenderRequest.model_validate({**base, "layer": "0"}).layer == "0"
    assert any(
        loc[0] == "layer" and kind == "greater_than_equal"
        for loc, kind in kinds(ModelRenderRequest, {**base, "layer": -1})
    )
    assert kinds(ModelRenderRequest, base) == [(("layer",), "missing")]
