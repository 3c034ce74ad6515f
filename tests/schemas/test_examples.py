"""schemas/examples.py: every worked example validates, and its declared output shapes are what
PyTorch computes for the same layers built directly."""

import fnmatch
from typing import Any

import pytest
import torch
import torchvision
from torch import nn

from schemas.examples import (
    LAYER_EXAMPLE_OUTPUT_SHAPES,
    LAYER_EXAMPLES,
    MODEL_EXAMPLES,
    SEED_PIPELINE,
    SEED_PIPELINE_SHAPES,
    SUMMARY_EXAMPLES,
)
from schemas.models import ModelInspectRequest, ModelSummaryRequest
from schemas.requests import LayerInspectRequest
from tests.direct import torch_layer


def input_shape(value: dict[str, Any]) -> list[int]:
    spec = value["input"]
    if "mnist" in spec:
        return [spec["mnist"]["batch_size"], 1, 28, 28]
    return list(spec["tensor"]["shape"]) if "tensor" in spec else list(spec["shape"])


def shapes_through(
    layers: list[dict[str, Any]], shape: list[int], dtype: torch.dtype = torch.float32
) -> list[list[int]]:
    with torch.device("meta"):
        x = torch.empty(shape, dtype=dtype)
        out = []
        for raw in layers:
            x = torch_layer(raw)(x)
            out.append(list(x.shape))
    return out


def test_every_layer_example_declares_its_output_shape() -> None:
    assert set(LAYER_EXAMPLES) == set(LAYER_EXAMPLE_OUTPUT_SHAPES)
    for example in LAYER_EXAMPLES.values():
        assert example["summary"]


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_layer_example_validates_and_its_shape_is_pytorchs(name: str) -> None:
    value = LAYER_EXAMPLES[name]["value"]
    request = LayerInspectRequest.model_validate(value)
    assert request.model_dump(exclude_unset=True, mode="json")["layer"] == value["layer"]
    shape = input_shape(value)
    dtype = torch.int64 if value["input"].get("dtype") == "int64" else torch.float32
    assert shapes_through([value["layer"]], shape, dtype)[-1] == LAYER_EXAMPLE_OUTPUT_SHAPES[name]
    # The summary states the same shapes.
    summary = LAYER_EXAMPLES[name]["summary"]
    assert str(shape) in summary and str(LAYER_EXAMPLE_OUTPUT_SHAPES[name]) in summary


def test_seed_pipeline_shapes_are_pytorchs() -> None:
    assert shapes_through(SEED_PIPELINE, [1, 1, 28, 28]) == SEED_PIPELINE_SHAPES
    model = nn.Sequential(*(torch_layer(raw) for raw in SEED_PIPELINE))
    assert model(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def torchvision_shapes(model: dict[str, Any], shape: list[int]) -> dict[str, list[int]]:
    """Every module's output shape when torchvision's architecture, built on meta directly,
    runs on `shape`; `""` is the model's."""
    with torch.device("meta"):
        net = torchvision.models.get_model(model["torchvision"], weights=None, **model["kwargs"])
        shapes: dict[str, list[int]] = {}

        def keep(name: str) -> Any:
            def hook(module: nn.Module, args: Any, out: Any) -> None:
                if isinstance(out, torch.Tensor):
                    shapes.setdefault(name, list(out.shape))

            return hook

        for name, module in net.named_modules():
            module.register_forward_hook(keep(name))
        net.eval()(torch.empty(shape))
    return shapes


@pytest.mark.parametrize("name", sorted(MODEL_EXAMPLES))
def test_model_example_validates_and_runs_in_pytorch(name: str) -> None:
    value = MODEL_EXAMPLES[name]["value"]
    request = ModelInspectRequest.model_validate(value)
    if "model" in value:
        shapes = torchvision_shapes(value["model"], value["input"]["shape"])
        for pattern in value["select"]:
            assert fnmatch.filter(shapes, pattern), pattern  # each selects a module that runs
        assert str(value["input"]["shape"]) in MODEL_EXAMPLES[name]["summary"]
        assert shapes[""] == [1, value["model"]["kwargs"]["num_classes"]]
        assert request.select == value["select"]
        return
    assert request.layers is not None and len(request.layers) == len(value["layers"])
    shapes = shapes_through(value["layers"], input_shape(value))
    if name == "mnist_batch":
        assert shapes[-1] == [8, 10]
        assert "[8, 1, 28, 28] -> [8, 10]" in MODEL_EXAMPLES[name]["summary"]
    backward = value.get("backward", {})
    if "grad_output" in backward:
        assert backward["grad_output"]["shape"] == shapes[-1]


@pytest.mark.parametrize("name", sorted(SUMMARY_EXAMPLES))
def test_summary_example_validates_and_fits(name: str) -> None:
    value = SUMMARY_EXAMPLES[name]["value"]
    request = ModelSummaryRequest.model_validate(value)
    assert request.input_shape == value["input_shape"]
    if "model" in value:
        output = torchvision_shapes(value["model"] | {"kwargs": {}}, value["input_shape"])[""]
        summary = SUMMARY_EXAMPLES[name]["summary"]
        assert f"{value['input_shape']} -> {output}" in summary
        return
    shapes = shapes_through(value["layers"], value["input_shape"])
    if name == "large_batch":
        assert shapes[-1] == [64, 10]
    if name == "drops_columns":
        assert shapes[-1] == [1, 8, 15, 15]  # (32 - 3) // 2 + 1 = 15: row and column 31 unused
