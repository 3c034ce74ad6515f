"""service/tensors/report.py: `include` picks values, gradients follow `backward`, grad_fn names."""

import base64
from typing import Any

import numpy as np
import orjson
import pytest
import torch
from torch import nn

from service.orjson_response import ORJSON_OPTIONS
from service.tensors.report import TensorReporter, grad_fn_name
from service.tensors.stats import stats

ALL: list[Any] = ["input", "output", "parameters", "gradients"]


def values(obj: dict[str, Any]) -> torch.Tensor:
    # base64 values are an orjson Fragment until rendered: read them as a client would
    obj = orjson.loads(orjson.dumps(obj, option=ORJSON_OPTIONS))
    if "data_b64" in obj:
        raw = np.frombuffer(base64.b64decode(obj["data_b64"]), dtype="<f4")
        return torch.from_numpy(raw.copy()).reshape(obj["shape"])
    return torch.from_numpy(np.asarray(obj["data"], dtype=np.float32)).reshape(obj["shape"])


def run() -> tuple[nn.Linear, torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    layer = nn.Linear(3, 2)
    x = torch.randn(4, 3, requires_grad=True)
    y = layer(x)
    y.retain_grad()
    y.sum().backward()
    return layer, x, y


@pytest.mark.parametrize(
    ("build", "name"),
    [
        (lambda x: nn.Conv2d(1, 1, 1)(x.reshape(1, 1, 2, 2)), "ConvolutionBackward0"),
        (lambda x: nn.Linear(4, 2)(x), "AddmmBackward0"),
        (lambda x: torch.relu(x), "ReluBackward0"),
        (lambda x: x * 2, "MulBackward0"),
        (lambda x: x.sum(), "SumBackward0"),
        (lambda x: torch.softmax(x, -1), "SoftmaxBackward0"),
    ],
)
def test_grad_fn_name_is_pytorchs_node_class(build: Any, name: str) -> None:
    x = torch.randn(1, 4, requires_grad=True)
    out = build(x)
    assert grad_fn_name(out) == name == type(out.grad_fn).__name__


def test_grad_fn_name_none_for_leaves_and_no_grad() -> None:
    x = torch.randn(3, requires_grad=True)
    assert grad_fn_name(x) is None
    with torch.no_grad():
        assert grad_fn_name(x * 2) is None
    assert grad_fn_name((x * 2).detach()) is None


def test_leaf_with_everything_included() -> None:
    layer, x, _ = run()
    obj = TensorReporter(ALL, "json", backward=True).leaf(x, "input")
    assert obj["shape"] == [4, 3] and obj["dtype"] == "float32"
    assert obj["stats"] == stats(x.detach())
    torch.testing.assert_close(values(obj), x.detach(), rtol=0, atol=0)
    torch.testing.assert_close(values(obj["grad"]), x.grad, rtol=0, atol=0)
    assert x.grad is not None
    expected_grad = layer.weight.detach().sum(0).expand(4, 3)
    torch.testing.assert_close(values(obj["grad"]), expected_grad)


@pytest.mark.parametrize(
    ("include", "has_values", "grad_has_values"),
    [
        (["input", "gradients"], True, True),
        (["input"], True, False),
        (["gradients"], False, True),
        ([], False, False),
        (["output", "parameters"], False, False),
    ],
)
def test_include_picks_values_not_metadata(
    include: list[Any], has_values: bool, grad_has_values: bool
) -> None:
    _, x, _ = run()
    obj = TensorReporter(include, "json", backward=True).leaf(x, "input")
    assert ("data" in obj) is has_values
    assert obj["grad"] is not None
    assert obj["grad"]["stats"] == stats(x.grad)  # type: ignore[arg-type]
    assert ("data" in obj["grad"]) is grad_has_values


def test_no_backward_means_no_grad_even_when_there_is_one() -> None:
    _, x, y = run()
    reporter = TensorReporter(ALL, "json", backward=False)
    assert reporter.leaf(x, "input")["grad"] is None
    out = reporter.output(y)
    assert out["grad"] is None
    assert out["grad_fn"] == "AddmmBackward0" and out["requires_grad"] is True


def test_output_grad_defaults_to_its_dot_grad() -> None:
    _, _, y = run()
    obj = TensorReporter(ALL, "json", backward=True).output(y)
    torch.testing.assert_close(values(obj["grad"]), torch.ones(4, 2), rtol=0, atol=0)


def test_missing_grad_is_null_with_backward() -> None:
    x = torch.ones(2, requires_grad=False)
    assert TensorReporter(ALL, "json", backward=True).leaf(x, "input")["grad"] is None


def test_output_with_captured_grad_and_base64() -> None:
    _, _, y = run()
    captured = torch.full_like(y, 3.0)
    obj = TensorReporter(["output", "gradients"], "base64", backward=True).output(y, captured)
    assert "data" not in obj and "data" not in obj["grad"]
    torch.testing.assert_close(values(obj), y.detach(), rtol=0, atol=0)
    torch.testing.assert_close(values(obj["grad"]), captured, rtol=0, atol=0)
    assert obj["grad_fn"] == "AddmmBackward0"
    assert obj["requires_grad"] is True


def test_forward_only_output() -> None:
    layer = nn.Linear(3, 2)
    with torch.no_grad():
        y = layer(torch.ones(1, 3))
    obj = TensorReporter(ALL, "json", backward=False).output(y)
    assert obj["grad_fn"] is None and obj["requires_grad"] is False and obj["grad"] is None


def test_parameters_by_state_dict_name_with_prefix() -> None:
    layer, _, _ = run()
    reporter = TensorReporter(["parameters", "gradients"], "json", backward=True)
    params = reporter.parameters(layer, prefix="0.")
    assert list(params) == ["0.weight", "0.bias"]
    torch.testing.assert_close(values(params["0.weight"]), layer.weight.detach(), rtol=0, atol=0)
    assert layer.bias.grad is not None
    torch.testing.assert_close(values(params["0.bias"]["grad"]), layer.bias.grad, rtol=0, atol=0)
    torch.testing.assert_close(values(params["0.bias"]["grad"]), torch.full((2,), 4.0))
    without = TensorReporter(["input"], "json", backward=True).parameters(layer)
    assert list(without) == ["weight", "bias"]
    assert "data" not in without["weight"] and "data" not in without["weight"]["grad"]
