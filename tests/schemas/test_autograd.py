"""The autograd request schema: what it accepts, and the 422s of what it refuses."""

from typing import Any

import pytest
import torch
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
from tests.helpers import tensor_from as tensor

LEAF = {"fill": 1.0, "shape": [2]}
A = {"a": LEAF}


def test_leaf_variants() -> None:
    request = AutogradRequest.model_validate(
        {
            "tensors": {
                "t": {"tensor": {"data": [1, 2]}},
                "f": {"fill": 0.5, "shape": [2], "requires_grad": False},
                "r": {"shape": [2], "seed": 4},
            },
            "ops": [{"name": "b", "op": "add", "args": ["t", 2]}],
        }
    )
    t, f, r = request.tensors.values()
    assert type(t) is TensorLeaf
    assert type(f) is FillLeaf and (f.fill, f.requires_grad) == (0.5, False)
    assert type(r) is RandomLeaf and r.seed == 4
    assert request.ops[0].args == ["t", 2] and type(request.ops[0].args[1]) is int


def test_defaults_are_what_the_service_does(client: TestClient) -> None:
    body = {
        "tensors": {
            "t": {"tensor": {"data": [1.0, 2.0]}},
            "f": {"fill": 0.5, "shape": [2]},
            "r": {"shape": [2]},
        },
        "ops": [
            {"name": "a", "op": "add", "args": ["t", "f"]},
            {"name": "b", "op": "mul", "args": ["a", "r"]},
        ],
    }
    got = post(client, body)["tensors"]
    torch.manual_seed(0)  # a random leaf's seed is 0
    r = torch.randn(2)
    expected = torch.tensor([1.5, 2.5]) * r
    # every leaf requires grad; ops build the graph (no_grad false)
    assert [got[n]["requires_grad"] for n in ("t", "f", "r", "a", "b")] == [True] * 5
    assert (got["a"]["grad_fn"], got["b"]["grad_fn"]) == ("AddBackward0", "MulBackward0")
    # values as JSON lists (encoding json); no backward pass, so no gradient anywhere
    assert "data_b64" not in got["b"]["value"]
    torch.testing.assert_close(tensor(got["r"]["value"]), r)
    torch.testing.assert_close(tensor(got["b"]["value"]), expected)
    assert all(t["grad"] is None for t in got.values())


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
