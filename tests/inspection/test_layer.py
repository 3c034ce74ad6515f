"""POST /v1/layers/inspect against the same layer run directly in PyTorch."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn
from torch.testing import assert_close

from schemas.examples import LAYER_EXAMPLE_OUTPUT_SHAPES, LAYER_EXAMPLES
from service.running import execution
from tests.helpers import FakeClock, tensor_from, tensor_json

# (spec, torch constructor, input shape)
CASES: list[tuple[dict[str, Any], Any, list[int]]] = [
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 20, "kernel_size": 5},
        lambda: nn.Conv2d(1, 20, 5),
        [1, 1, 28, 28],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 3,
            "out_channels": 4,
            "kernel_size": [3, 2],
            "stride": [2, 1],
            "padding": [1, 0],
            "dilation": [1, 2],
            "bias": False,
        },
        lambda: nn.Conv2d(3, 4, (3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2), bias=False),
        [2, 3, 9, 8],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 4,
            "out_channels": 6,
            "kernel_size": 3,
            "groups": 2,
            "padding": "same",
            "padding_mode": "reflect",
        },
        lambda: nn.Conv2d(4, 6, 3, groups=2, padding="same", padding_mode="reflect"),
        [1, 4, 7, 7],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 2,
            "out_channels": 2,
            "kernel_size": 3,
            "padding": "valid",
            "padding_mode": "circular",
        },
        lambda: nn.Conv2d(2, 2, 3, padding="valid", padding_mode="circular"),
        [2, 6, 6],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 2,
            "out_channels": 3,
            "kernel_size": 3,
            "padding": 2,
            "padding_mode": "replicate",
            "stride": 2,
        },
        lambda: nn.Conv2d(2, 3, 3, padding=2, padding_mode="replicate", stride=2),
        [1, 2, 5, 6],
    ),
    (
        {"type": "maxpool2d", "kernel_size": 2, "stride": 2},
        lambda: nn.MaxPool2d(2, 2),
        [1, 3, 8, 8],
    ),
    ({"type": "maxpool2d", "kernel_size": 3}, lambda: nn.MaxPool2d(3), [1, 2, 10, 10]),
    (
        {
            "type": "maxpool2d",
            "kernel_size": [3, 2],
            "stride": 2,
            "padding": [1, 1],
            "dilation": 2,
            "ceil_mode": True,
        },
        lambda: nn.MaxPool2d((3, 2), stride=2, padding=(1, 1), dilation=2, ceil_mode=True),
        [2, 1, 9, 11],
    ),
    (
        {"type": "linear", "in_features": 20, "out_features": 30},
        lambda: nn.Linear(20, 30),
        [128, 20],
    ),
    (
        {"type": "linear", "in_features": 5, "out_features": 3, "bias": False},
        lambda: nn.Linear(5, 3, bias=False),
        [2, 4, 5],
    ),
    ({"type": "flatten"}, lambda: nn.Flatten(), [2, 3, 4, 5]),
    ({"type": "flatten", "start_dim": 0, "end_dim": 2}, lambda: nn.Flatten(0, 2), [2, 3, 4, 5]),
    ({"type": "activation", "name": "relu"}, lambda: nn.ReLU(), [3, 7]),
    (
        {"type": "activation", "name": "leaky_relu", "negative_slope": 0.2},
        lambda: nn.LeakyReLU(0.2),
        [3, 7],
    ),
    ({"type": "activation", "name": "elu", "alpha": 0.5}, lambda: nn.ELU(0.5), [3, 7]),
    ({"type": "activation", "name": "gelu"}, lambda: nn.GELU(), [3, 7]),
    (
        {"type": "activation", "name": "gelu", "approximate": "tanh"},
        lambda: nn.GELU(approximate="tanh"),
        [3, 7],
    ),
    ({"type": "activation", "name": "silu"}, lambda: nn.SiLU(), [3, 7]),
    ({"type": "activation", "name": "sigmoid"}, lambda: nn.Sigmoid(), [3, 7]),
    ({"type": "activation", "name": "tanh"}, lambda: nn.Tanh(), [3, 7]),
    ({"type": "activation", "name": "softmax", "dim": 1}, lambda: nn.Softmax(dim=1), [2, 10]),
    ({"type": "activation", "name": "log_softmax", "dim": 0}, lambda: nn.LogSoftmax(dim=0), [4, 3]),
]


def _ids(case: tuple[dict[str, Any], Any, list[int]]) -> str:
    spec = case[0]
    return f"{spec.get('name', spec['type'])}-{'x'.join(map(str, case[2]))}"


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
@pytest.mark.parametrize("target", ["sum", "mean"])
def test_matches_pytorch(client: TestClient, case: Any, target: str) -> None:
    spec, make, shape = case
    body = {
        "layer": spec,
        "input": {"shape": shape, "seed": 3},
        "weights": {"seed": 7},
        "backward": {"target": target},
    }
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 200, r.text
    got = r.json()

    torch.manual_seed(7)
    module = make()
    torch.manual_seed(3)
    x = torch.randn(*shape).requires_grad_()
    y = module(x)
    (y.sum() if target == "sum" else y.mean()).backward()

    assert got["layer"]["repr"] == repr(module)
    assert got["layer"]["parameter_count"] == sum(p.numel() for p in module.parameters())
    assert got["seeds"] == {"input": 3, "weights": 7, "forward": 0}
    assert_close(tensor_from(got["input"]), x.detach())
    assert_close(tensor_from(got["output"]), y.detach())
    assert got["output"]["shape"] == list(y.shape)
    assert got["output"]["grad_fn"] == type(y.grad_fn).__name__
    assert x.grad is not None
    assert_close(tensor_from(got["input"]["grad"]), x.grad)
    assert set(got["parameters"]) == {n for n, _ in module.named_parameters()}
    for name, p in module.named_parameters():
        assert p.grad is not None
        assert_close(tensor_from(got["parameters"][name]), p.detach())
        assert_close(tensor_from(got["parameters"][name]["grad"]), p.grad)


def test_base64_equals_json(client: TestClient) -> None:
    body: dict[str, Any] = {
        "layer": CASES[1][0],
        "input": {"shape": [2, 3, 9, 8]},
        "backward": {"target": "sum"},
    }
    as_json = client.post("/v1/layers/inspect", json=body).json()
    as_b64 = client.post("/v1/layers/inspect", json=body | {"encoding": "base64"}).json()
    assert "data" not in as_b64["output"] and "data_b64" not in as_json["output"]
    torch.manual_seed(0)
    module = CASES[1][1]()
    torch.manual_seed(0)
    x = torch.randn(2, 3, 9, 8, requires_grad=True)
    y = module(x)
    y.retain_grad()
    y.sum().backward()
    for key, direct in (("input", x), ("output", y)):
        assert direct.grad is not None
        for got in (as_json, as_b64):
            assert_close(tensor_from(got[key]), direct.detach())
            assert_close(tensor_from(got[key]["grad"]), direct.grad)
        # bit for bit: base64 carries the float32 buffer, JSON its shortest round-trip text
        assert torch.equal(tensor_from(as_b64[key]), tensor_from(as_json[key]))


def test_grad_output_equals_backward_with_vector(client: TestClient) -> None:
    torch.manual_seed(0)
    module = nn.Linear(4, 3)
    x = torch.tensor([[1.0, -2.0, 0.5, 3.0], [0.0, 1.0, -1.0, 2.0]], requires_grad=True)
    v = torch.tensor([[0.1, 1.0, 0.0001], [2.0, -1.0, 0.5]])
    y = module(x)
    y.backward(v)
    body = {
        "layer": {"type": "linear", "in_features": 4, "out_features": 3},
        "input": {"tensor": tensor_json(x)},
        "backward": {"grad_output": tensor_json(v)},
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["seeds"] == {"input": None, "weights": 0, "forward": 0}
    assert_close(tensor_from(got["output"]), y.detach())
    assert_close(tensor_from(got["output"]["grad"]), v)
    assert_close(tensor_from(got["input"]["grad"]), x.grad)
    assert_close(tensor_from(got["parameters"]["weight"]["grad"]), module.weight.grad)
    assert_close(tensor_from(got["parameters"]["bias"]["grad"]), module.bias.grad)


def test_forward_only_has_no_grad_fn_and_no_grads(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "layer": {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
        "input": {"shape": [1, 1, 5, 5]},
    }
    clock = FakeClock(7.0, 7.0625)  # the forward pass's start and end
    monkeypatch.setattr(execution, "time", clock)
    got = client.post("/v1/layers/inspect", json=body).json()
    assert clock.readings == []
    torch.manual_seed(0)
    module = nn.Conv2d(1, 2, 3)
    torch.manual_seed(0)
    with torch.no_grad():
        y = module(torch.randn(1, 1, 5, 5))
    assert_close(tensor_from(got["output"]), y)
    assert got["output"]["grad_fn"] is None
    assert got["output"]["requires_grad"] is False
    assert got["output"]["grad"] is None
    assert got["input"]["grad"] is None
    assert all(p["grad"] is None for p in got["parameters"].values())
    assert got["timing_ms"] == {"forward_ms": 62.5, "backward_ms": None}


def test_explicit_state_and_nested_input(client: TestClient) -> None:
    weight = torch.tensor([[1.0, -1.0], [0.5, 2.0], [0.0, 3.0]])
    bias = torch.tensor([0.1, 0.2, 0.3])
    x = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    body = {
        "layer": {"type": "linear", "in_features": 2, "out_features": 3},
        "input": {"tensor": {"data": [[1, 2], [3, 4]]}},
        "weights": {"state": {"weight": tensor_json(weight), "bias": tensor_json(bias)}},
        "backward": {"target": "sum"},
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["seeds"] == {"input": None, "weights": None, "forward": 0}
    assert_close(tensor_from(got["output"]), x @ weight.T + bias)
    assert_close(tensor_from(got["parameters"]["weight"]["grad"]), x.sum(0).expand(3, 2))
    assert got["parameters"]["weight"]["grad"]["shape"] == [3, 2]


def test_include_controls_values_only(client: TestClient) -> None:
    body = {
        "layer": {"type": "linear", "in_features": 3, "out_features": 2},
        "input": {"shape": [1, 3]},
        "backward": {"target": "sum"},
        "include": ["output"],
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    torch.manual_seed(0)
    x = torch.randn(1, 3, requires_grad=True)
    y = module(x)
    y.sum().backward()
    assert x.grad is not None
    assert_close(tensor_from(got["output"]), y.detach())  # values: asked for
    assert got["input"].get("data") is None  # values: not asked for; stats still there
    assert got["input"]["stats"]["max"] == pytest.approx(x.max().item())
    assert got["input"]["grad"].get("data") is None
    grad_stats = got["input"]["grad"]["stats"]
    assert (grad_stats["min"], grad_stats["max"]) == pytest.approx(
        (x.grad.min().item(), x.grad.max().item())
    )
    assert got["parameters"]["weight"].get("data") is None
    assert got["parameters"]["weight"]["shape"] == [2, 3]
    assert got["parameters"]["weight"]["stats"]["mean"] == pytest.approx(
        module.weight.mean().item()
    )


def test_requires_grad_false_leaves_input_without_grad(client: TestClient) -> None:
    body = {
        "layer": {"type": "linear", "in_features": 3, "out_features": 2},
        "input": {"shape": [1, 3], "requires_grad": False},
        "backward": {"target": "sum"},
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["input"]["grad"] is None
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    module(torch.randn(1, 3, generator=torch.Generator().manual_seed(0))).sum().backward()
    assert_close(tensor_from(got["parameters"]["weight"]["grad"]), module.weight.grad)


def test_nan_and_inf_inputs_are_reported(client: TestClient) -> None:
    body = {
        "layer": {"type": "activation", "name": "relu"},
        "input": {"tensor": {"shape": [5], "data": [1.0, None, -2.0, 0.0, 3.0]}},
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["input"]["stats"]["nan_count"] == 1
    assert got["output"]["data"] == [1.0, None, 0.0, 0.0, 3.0]


@pytest.mark.parametrize("name", sorted(LAYER_EXAMPLES))
def test_worked_examples_return_their_shapes(client: TestClient, name: str) -> None:
    r = client.post("/v1/layers/inspect", json=LAYER_EXAMPLES[name]["value"])
    assert r.status_code == 200, r.text
    assert r.json()["output"]["shape"] == LAYER_EXAMPLE_OUTPUT_SHAPES[name]


@pytest.mark.cuda
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_matches_pytorch_on_cuda(client: TestClient, case: Any) -> None:
    spec, make, shape = case
    body = {
        "layer": spec,
        "input": {"shape": shape, "seed": 3},
        "weights": {"seed": 7},
        "backward": {"target": "sum"},
        "device": "cuda",
        "encoding": "base64",
    }
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["device"] == "cuda:0"

    torch.manual_seed(7)
    module = make().cuda()
    torch.manual_seed(3)
    x = torch.randn(*shape).cuda().requires_grad_()
    y = module(x)
    y.sum().backward()
    assert x.grad is not None
    assert_close(tensor_from(got["output"]), y.detach().cpu())
    assert_close(tensor_from(got["input"]["grad"]), x.grad.cpu())
    for name, p in module.named_parameters():
        assert p.grad is not None
        assert_close(tensor_from(got["parameters"][name]["grad"]), p.grad.cpu())
