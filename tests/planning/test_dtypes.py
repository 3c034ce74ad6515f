"""service/planning/dtypes.py: tensors in the computation's dtype, cast only when asked, listed."""

import base64
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch.testing import assert_close

from service.errors import ProblemError
from service.planning.dtypes import DTypes
from tests.helpers import tensor_from

LINEAR = {"type": "linear", "in_features": 3, "out_features": 2}
X = [[0.1, -2.5, 3.25], [1.0, 0.5, -0.125]]


def raw(t: torch.Tensor) -> dict[str, Any]:
    """A tensor object in its own dtype, as base64 of its bytes."""
    view = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
    name = str(t.dtype).removeprefix("torch.")
    data = base64.b64encode(view.contiguous().numpy().tobytes()).decode()
    return {"shape": list(t.shape), "dtype": name, "data_b64": data}


def test_conform_keeps_casts_or_refuses() -> None:
    t64 = torch.tensor([1.5, -2.0], dtype=torch.float64)
    strict = DTypes(torch.float32, cast=False)
    with pytest.raises(ProblemError) as info:
        strict.conform(t64, torch.float32, "body.input.tensor")
    assert info.value.slug == "dtype-mismatch" and info.value.status == 422
    assert 'set "dtype": "float64"' in info.value.errors[0]["fix"]
    assert '"cast": true' in info.value.errors[0]["fix"]
    lenient = DTypes(torch.float32, cast=True)
    out = lenient.conform(t64, torch.float32, "body.input.tensor")
    assert out.dtype == torch.float32 and out.tolist() == [1.5, -2.0]
    assert lenient.casts == [
        {"field": "body.input.tensor", "from_dtype": "float64", "to_dtype": "float32"}
    ]
    same = torch.tensor([1.0])
    assert lenient.conform(same, torch.float32, "x") is same and len(lenient.casts) == 1
    with pytest.raises(ProblemError) as info:  # integers are never cast, even when allowed
        lenient.conform(torch.tensor([1, 2]), torch.float32, "body.input.tensor")
    assert "never cast" in info.value.errors[0]["fix"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16, torch.float16])
def test_each_dtype_computes_as_pytorch_does_in_it(client: TestClient, dtype: torch.dtype) -> None:
    name = str(dtype).removeprefix("torch.")
    x = torch.tensor(X, dtype=dtype)
    body = {
        "layer": LINEAR,
        "input": {"tensor": raw(x)},
        "weights": {"seed": 3},
        "dtype": name,
        "backward": {"target": "sum"},
        "encoding": "base64",
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    torch.manual_seed(3)
    layer = torch.nn.Linear(3, 2).to(dtype)  # seeded in float32, then converted
    xd = x.clone().requires_grad_(True)
    y = layer(xd)
    y.sum().backward()
    assert got["dtype"] == name and got["casts"] == []
    assert got["output"]["dtype"] == name and got["parameters"]["weight"]["dtype"] == name
    assert_close(tensor_from(got["output"]), y.detach(), rtol=0, atol=0)
    assert_close(tensor_from(got["input"]["grad"]), xd.grad, rtol=0, atol=0)
    assert_close(tensor_from(got["parameters"]["weight"]["grad"]), layer.weight.grad)


def test_a_float64_input_is_refused_in_float32_unless_cast(client: TestClient) -> None:
    x = torch.tensor(X, dtype=torch.float64)
    body = {"layer": LINEAR, "input": {"tensor": raw(x)}}
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "/problems/dtype-mismatch"
    assert problem["errors"][0]["field"] == "body.input.tensor"
    got = client.post("/v1/layers/inspect", json=body | {"cast": True}).json()
    assert got["casts"] == [
        {"field": "body.input.tensor", "from_dtype": "float64", "to_dtype": "float32"}
    ]
    assert got["input"]["dtype"] == "float32"
    torch.manual_seed(0)
    assert_close(tensor_from(got["output"]), torch.nn.Linear(3, 2)(x.float()).detach())
    # computing in float64 instead needs no cast at all
    same = client.post("/v1/layers/inspect", json=body | {"dtype": "float64"}).json()
    assert same["casts"] == [] and same["output"]["dtype"] == "float64"


def test_state_and_grad_output_follow_the_same_rule(client: TestClient) -> None:
    torch.manual_seed(1)
    bn = torch.nn.BatchNorm1d(3).train()
    bn(torch.randn(4, 3))  # running statistics that are not the defaults
    state = {name: raw(t) for name, t in bn.state_dict().items()}
    assert state["num_batches_tracked"]["dtype"] == "int64"
    x = torch.randn(4, 3)
    g = torch.randn(4, 3, dtype=torch.float64)
    body = {
        "layer": {"type": "batchnorm1d", "num_features": 3},
        "input": {"tensor": raw(x)},
        "weights": {"state": state},
        "mode": "train",
        "backward": {"grad_output": raw(g)},
    }
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.backward.grad_output"
    got = client.post("/v1/layers/inspect", json=body | {"cast": True}).json()
    assert [c["field"] for c in got["casts"]] == ["body.backward.grad_output"]
    xd = x.clone().requires_grad_(True)
    y = bn(xd)  # a second training step: the buffers move on from the state that was sent
    y.backward(g.float())
    assert_close(tensor_from(got["output"]), y.detach())
    assert_close(tensor_from(got["input"]["grad"]), xd.grad)
    for name, t in bn.state_dict().items():
        assert got["buffers"].get(name, got["parameters"].get(name))["dtype"] == str(
            t.dtype
        ).removeprefix("torch.")
    assert got["buffers"]["num_batches_tracked"]["data"] == [2]
    assert_close(tensor_from(got["buffers"]["running_mean"]), bn.running_mean)
    assert_close(tensor_from(got["buffers"]["running_var"]), bn.running_var)
