"""schemas/inputs.py: the input union picks its variant by which key is present."""

from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.inputs import (
    InputSpec,
    MnistInput,
    MnistRef,
    RandomInput,
    TensorInput,
    key_discriminator,
)

INPUT: TypeAdapter[Any] = TypeAdapter(InputSpec)


def test_variants_and_defaults() -> None:
    random = INPUT.validate_python({"shape": [2, 3]})
    assert isinstance(random, RandomInput)
    assert (random.shape, random.seed, random.requires_grad) == ([2, 3], 0, True)
    tensor = INPUT.validate_python({"tensor": {"data": [1.0]}, "requires_grad": False})
    assert isinstance(tensor, TensorInput) and tensor.requires_grad is False
    mnist = INPUT.validate_python({"mnist": {"index": 4}})
    assert isinstance(mnist, MnistInput)
    assert (mnist.mnist.split, mnist.mnist.index) == ("test", 4)
    assert (mnist.preprocess.size, mnist.preprocess.mean, mnist.preprocess.std) == (28, 0.5, 1.0)
    assert mnist.preprocess.invert == "auto"


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
        ({"shape": [2], "seed": 2**63}, ("~random", "seed"), "less_than_equal"),
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
    assert MnistRef(index=0).split == "test"
