"""Explicit state loads as given, keeps parameters trainable, and is checked by shape."""

from functools import partial

import pytest
import torch
from pydantic import TypeAdapter

from schemas.layer_specs import LayerSpec
from schemas.requests import StateWeights
from schemas.tensors import TensorData
from service.building.layer_builder import build_layer, build_on_meta
from service.building.weights import expected_state, materialize
from service.errors import ProblemError

LINEAR = TypeAdapter(LayerSpec).validate_python(
    {"type": "linear", "in_features": 2, "out_features": 1}
)


def test_expected_state() -> None:
    assert expected_state(build_on_meta(LINEAR)) == {"weight": [1, 2], "bias": [1]}


def test_state_loads_as_given_and_trains() -> None:
    state = StateWeights(
        state={"weight": TensorData(shape=[1, 2], data=[2.0, 3.0]), "bias": TensorData(data=[0.5])}
    )
    module, seed = materialize(partial(build_layer, LINEAR), build_on_meta(LINEAR), state, "w", 100)
    assert seed is None
    assert torch.equal(module.weight.detach(), torch.tensor([[2.0, 3.0]]))
    assert torch.equal(module.bias.detach(), torch.tensor([0.5]))
    assert all(p.requires_grad and p.is_leaf for p in module.parameters())
    x = torch.tensor([[4.0, -1.0]])
    y = module(x)
    assert torch.equal(y.detach(), torch.tensor([[2.0 * 4 - 3.0 + 0.5]]))
    y.sum().backward()
    # d y / d W = x, d y / d b = 1: the loaded parameters train
    assert torch.equal(module.weight.grad, x)  # type: ignore[arg-type]
    assert torch.equal(module.bias.grad, torch.ones(1))  # type: ignore[arg-type]


def test_missing_parameter_is_refused() -> None:
    state = StateWeights(state={"weight": TensorData(shape=[1, 2], data=[2.0, 3.0])})
    with pytest.raises(ProblemError) as err:
        materialize(partial(build_layer, LINEAR), build_on_meta(LINEAR), state, "w", 100)
    assert err.value.errors[0]["field"] == "w.bias"
