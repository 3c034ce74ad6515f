"""The autograd request schema: what it accepts, and the 422s of what it refuses."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from schemas.autograd import (
    MAX_GRAPH_TENSORS,
    MAX_REPEAT,
    AutogradRequest,
    FillLeaf,
    RandomLeaf,
    TensorLeaf,
)
from tests.autograd.helpers import fields, post

LEAF = {"fill": 1.0, "shape": [2]}
A = {"a": LEAF}


def test_leaf_variants_and_defaults() -> None:
    request = AutogradRequest.model_validate(
        {
            "tensors": {
                "t": {"tensor": {"data": [1, 2]}},
                "f": {"fill": 0.5, "shape": [2], "requires_grad": False},
                "r": {"shape": [2]},
            },
            "ops": [{"name": "b", "op": "add", "args": ["t", 2]}],
        }
    )
    t, f, r = request.tensors.values()
    assert isinstance(t, TensorLeaf) and t.requires_grad is True
    assert isinstance(f, FillLeaf) and f.requires_grad is False
    assert isinstance(r, RandomLeaf) and r.seed == 0 and r.requires_grad is True
    op = request.ops[0]
    assert op.args == ["t", 2] and isinstance(op.args[1], int) and op.no_grad is False
    assert request.backward is None and request.encoding == "json"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"tensors": {}}, "body.tensors"),
        ({"tensors": {"1a": LEAF}}, "body.tensors.1a.[key]"),
        ({"tensors": {"a": {"fill": 1.0}}}, "body.tensors.a.shape"),
        ({"tensors": {"a": {"seed": 1}}}, "body.tensors.a"),
        ({"tensors": A, "ops": [{"name": "b", "op": "eval", "args": ["a"]}]}, None),
        ({"tensors": A, "ops": [{"name": "b-c", "op": "neg", "args": ["a"]}]}, None),
        ({"tensors": A, "ops": [{"name": "b", "op": "neg", "args": []}]}, None),
        ({"tensors": A, "ops": [{"name": "b", "op": "add", "args": ["a", True]}]}, None),
        ({"tensors": A, "ops": [{"name": "b", "op": "add", "args": ["a", "2"]}]}, None),
        (
            {"tensors": A, "ops": [{"name": "b", "op": "neg", "args": ["a"], "x": 1}]},
            None,
        ),
        ({"tensors": A, "backward": {"of": "a", "repeat": 0}}, "body.backward.repeat"),
        (
            {"tensors": A, "backward": {"of": "a", "repeat": MAX_REPEAT + 1}},
            "body.backward.repeat",
        ),
        ({"tensors": A, "device": "tpu"}, "body.device"),
    ],
)
def test_refused_by_the_schema(client: TestClient, body: dict[str, Any], field: str | None) -> None:
    problem = post(client, body, 422)
    assert problem["type"] == "/problems/invalid-request"
    if field is not None:
        assert field in fields(problem)
    else:
        assert all(f.startswith("body.ops.0") for f in fields(problem))


def test_graph_size_is_bounded() -> None:
    tensors = {f"t{i}": LEAF for i in range(MAX_GRAPH_TENSORS + 1)}
    with pytest.raises(ValidationError):
        AutogradRequest.model_validate({"tensors": tensors})
    ops = [{"name": f"o{i}", "op": "neg", "args": ["a"]} for i in range(MAX_GRAPH_TENSORS + 1)]
    with pytest.raises(ValidationError):
        AutogradRequest.model_validate({"tensors": A, "ops": ops})
