"""schemas/tensors.py: TensorData's one-of rules, defaults and shape bounds."""

from typing import Any

import pytest
from pydantic import ValidationError

from schemas.tensors import TensorData, TensorOut


def messages(raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        TensorData.model_validate(raw)
    return [(tuple(e["loc"]), e["msg"]) for e in info.value.errors()]


@pytest.mark.parametrize(
    "raw",
    [
        {"shape": [2], "data": [1.0, 2.0]},
        {"data": [[1.0, 2.0], [3.0, None]]},
        {"shape": [1], "data_b64": "AACAPw==", "dtype": "float32"},
        {"shape": [1], "data_b64": "AAAAAAAA8D8=", "dtype": "float64"},
    ],
)
def test_accepted_forms(raw: dict[str, Any]) -> None:
    # What `dtype` defaults to in use (float32): tests/tensors/test_codec.py decodes data_b64
    # sent without it.
    data = TensorData.model_validate(raw)
    assert data.model_dump(exclude_unset=True) == raw


def test_exactly_one_of_data_or_data_b64() -> None:
    both = {"shape": [1], "data": [1.0], "data_b64": "AACAPw=="}
    assert messages(both) == [((), "Value error, give exactly one of `data` or `data_b64`")]
    assert messages({"shape": [1]}) == [
        ((), "Value error, give exactly one of `data` or `data_b64`")
    ]


def test_data_b64_needs_shape() -> None:
    assert messages({"data_b64": "AACAPw=="}) == [
        ((), "Value error, `data_b64` needs `shape`: add the tensor's dimensions")
    ]


@pytest.mark.parametrize(
    ("raw", "loc", "kind"),
    [
        ({"shape": [1] * 9, "data": [1.0]}, ("shape",), "too_long"),
        ({"shape": [-1], "data": []}, ("shape", 0), "greater_than_equal"),
        ({"shape": [2**24 + 1], "data": [1.0]}, ("shape", 0), "less_than_equal"),
        ({"shape": [1], "data": [1.0], "dtype": "int8"}, ("dtype",), "literal_error"),
        ({"shape": [1], "data": [1.0], "values": [1.0]}, ("values",), "extra_forbidden"),
    ],
)
def test_refused(raw: dict[str, Any], loc: tuple[Any, ...], kind: str) -> None:
    with pytest.raises(ValidationError) as info:
        TensorData.model_validate(raw)
    assert [(tuple(e["loc"]), e["type"]) for e in info.value.errors()] == [(loc, kind)]


def test_tensor_out_forbids_extras_and_allows_null_values() -> None:
    stats = {
        "min": None,
        "max": None,
        "mean": None,
        "std": None,
        "nan_count": 1,
        "inf_count": 0,
        "zero_fraction": 0.0,
    }
    out = TensorOut.model_validate(
        {"shape": [1], "dtype": "float32", "stats": stats, "data": [None]}
    )
    assert out.data == [None] and out.data_b64 is None
    with pytest.raises(ValidationError):
        TensorOut.model_validate({"shape": [1], "dtype": "float32", "stats": stats, "x": 1})
