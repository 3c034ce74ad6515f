"""schemas/inputs.py: the input union picks its variant by which key is present."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.inputs import (
    InputSpec,
    MnistInput,
    RandomInput,
    TensorInput,
    key_discriminator,
)
from tests.helpers import tensor_from

INPUT: TypeAdapter[Any] = TypeAdapter(InputSpec)


def test_the_marking_key_picks_the_variant() -> None:
    # What the defaults do is checked through the service: the random input's seed 0 and
    # requires_grad in test_inputs_default_to_seed_0_and_requires_grad, the MNIST split and
    # preprocessing in tests/images/test_mnist.py, a tensor's requires_grad in
    # tests/inspection/test_layer.py::test_grad_output_equals_backward_with_vector.
    random = INPUT.validate_python({"shape": [2, 3], "seed": 5})
    assert type(random) is RandomInput and (random.shape, random.seed) == ([2, 3], 5)
    tensor = INPUT.validate_python({"tensor": {"data": [1.0]}, "requires_grad": False})
    assert type(tensor) is TensorInput and tensor.requires_grad is False
    mnist = INPUT.validate_python({"mnist": {"index": 4}})
    assert type(mnist) is MnistInput and mnist.mnist.index == 4


def test_inputs_default_to_seed_0_and_requires_grad(client: TestClient) -> None:
    body = {
        "layer": {"type": "activation", "name": "tanh"},
        "input": {"shape": [2, 3]},
        "backward": {"target": "sum"},
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    torch.manual_seed(0)
    x = torch.randn(2, 3, requires_grad=True)
    torch.tanh(x).sum().backward()
    assert got["seeds"]["input"] == 0
    torch.testing.assert_close(tensor_from(got["input"]), x.detach())
    torch.testing.assert_close(tensor_from(got["input"]["grad"]), x.grad)


def test_precedence_tensor_over_shape() -> None:
    # `tensor` wins: the stray `shape` is then an unknown field of TensorInput.
    with pytest.raises(ValidationError) as info:
        INPUT.validate_python({"tensor": {"data": [1.0]}, "shape": [1]})
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [
        (("~tensor", "shape"), "extra_forbidden")
    ]


@pytest.mark.parametrize("raw", [{}, {"seed": 1}, {"data": [1.0]}, [1, 2], "x"])
def test_no_marking_key_is_missing_variant(raw: Any) -> None:
    with pytest.raises(ValidationError) as info:
        INPUT.validate_python(raw)
    (err,) = info.value.errors()
    assert err["type"] == "missing_variant"
    assert err["msg"] == "give an object with one of the keys: tensor, mnist, shape"


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        ({"mnist": {"index": -1}}, ("~mnist", "mnist", "index"), "greater_than_equal"),
        (
            {"mnist": {"index": 0, "split": "Test"}},
            ("~mnist", "mnist", "split"),
            "string_pattern_mismatch",
        ),
        ({"shape": [2], "seed": -1}, ("~random", "seed"), "greater_than_equal"),
        ({"shape": [2], "seed": 2**53}, ("~random", "seed"), "less_than_equal"),
    ],
)
def test_bounds(raw: Any, loc: tuple[str, ...], kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        INPUT.validate_python(raw)
    assert [(e["loc"], e["type"]) for e in info.value.errors()] == [(loc, kind)]


def test_key_discriminator_on_dicts_and_models() -> None:
    pick = key_discriminator({"a": "first", "b": "second"}).discriminator

    class HasB(BaseModel):
        b: int = 0

    assert pick({"b": 1, "a": 2}) == "~first"
    assert pick({"b": 1}) == "~second"
    assert pick(HasB()) == "~second"
    assert pick({"c": 1}) is None
    assert pick(3) is None
