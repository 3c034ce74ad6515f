"""schemas/inputs.py: the input union picks its variant by which key is present."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.inputs import (
    MAX_BATCH,
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
        ({"mnist": {"indices": []}}, ("~mnist", "mnist", "indices"), "too_short"),
        ({"mnist": {"indices": [0, -1]}}, ("~mnist", "mnist", "indices", 1), "greater_than_equal"),
        (
            {"mnist": {"indices": [0] * (MAX_BATCH + 1)}},
            ("~mnist", "mnist", "indices"),
            "too_long",
        ),
        ({"mnist": {"batch_size": 0}}, ("~mnist", "mnist", "batch_size"), "greater_than_equal"),
        (
            {"mnist": {"batch_size": MAX_BATCH + 1}},
            ("~mnist", "mnist", "batch_size"),
            "less_than_equal",
        ),
        (
            {"mnist": {"batch_size": 8, "batch": -1}},
            ("~mnist", "mnist", "batch"),
            "greater_than_equal",
        ),
        (
            {"mnist": {"batch_size": 8, "seed": -1}},
            ("~mnist", "mnist", "seed"),
            "greater_than_equal",
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


def test_mnist_batch_forms_validate() -> None:
    ref = INPUT.validate_python({"mnist": {"indices": [3, 1, 4]}}).mnist
    assert (ref.index, ref.indices, ref.batch_size, ref.count) == (None, [3, 1, 4], None, 3)
    ref = INPUT.validate_python(
        {"mnist": {"batch_size": 8, "shuffle": True, "seed": 0, "batch": 2, "drop_last": True}}
    ).mnist
    assert (ref.batch_size, ref.shuffle, ref.seed, ref.batch, ref.drop_last) == (
        8,
        True,
        0,
        2,
        True,
    )
    assert ref.count == 8
    assert INPUT.validate_python({"mnist": {"index": 4}}).mnist.count == 1
    # a full dump of a request validates again (loader fields at their defaults are no batch)
    one = INPUT.validate_python({"mnist": {"index": 4}})
    assert INPUT.validate_python(one.model_dump()).mnist.index == 4
    with pytest.raises(ValidationError, match="only with `batch_size`"):
        INPUT.validate_python({"mnist": {"index": 4, "shuffle": True}})


@pytest.mark.parametrize(
    ("mnist", "field", "words"),
    [
        (
            {"split": "test", "index": [0, 1, 2, 3]},
            "body.input.mnist.index",
            '`index` takes one position; for several digits use `indices`, e.g. {"indices": '
            "[0, 1, 2, 3]}",
        ),
        (
            {"split": "test"},
            "body.input.mnist",
            "give exactly one of `index` (one digit), `indices` (a list, in order) or "
            "`batch_size` (a DataLoader batch)",
        ),
        ({"index": 1, "indices": [2]}, "body.input.mnist", "; got index and indices"),
        ({"indices": [2], "batch_size": 4}, "body.input.mnist", "; got indices and batch_size"),
        (
            {"index": 1, "shuffle": True},
            "body.input.mnist",
            "`shuffle` goes only with `batch_size` (a DataLoader batch); add `batch_size` or "
            "leave it out",
        ),
        (
            {"indices": [1], "seed": 3, "drop_last": True},
            "body.input.mnist",
            "`seed`, `drop_last` go only with `batch_size`",
        ),
    ],
)
def test_mnist_selector_mistakes_are_422_saying_what_to_send(
    client: TestClient, mnist: dict[str, Any], field: str, words: str
) -> None:
    r = client.post(
        "/v1/layers/inspect", json={"layer": {"type": "flatten"}, "input": {"mnist": mnist}}
    )
    assert r.status_code == 422
    (error,) = r.json()["errors"]
    assert error["field"] == field
    assert words in error["message"]
    assert r.json()["detail"].startswith(field + ": ")
