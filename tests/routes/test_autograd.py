"""The route's OpenAPI text, and every worked example in it, checked against PyTorch."""

from typing import Any

import torch
from fastapi.testclient import TestClient
from torch.testing import assert_close

from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from tests.autograd.helpers import post
from tests.helpers import tensor_from as tensor


def test_openapi_has_summary_description_and_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    route = spec["paths"]["/v1/autograd"]["post"]
    assert route["summary"] and "grad_fn" in route["description"]
    content = route["requestBody"]["content"]["application/json"]
    assert set(content["examples"]) == set(AUTOGRAD_EXAMPLES)
    assert "422" in route["responses"]


def examples() -> dict[str, dict[str, Any]]:
    return {name: post_value["value"] for name, post_value in AUTOGRAD_EXAMPLES.items()}


def test_every_example_runs(client: TestClient) -> None:
    for name, body in examples().items():
        got = post(client, body)
        assert got["device"] == "cpu", name
        expected = list(body["tensors"]) + [op["name"] for op in body["ops"]]
        assert list(got["tensors"]) == expected, name


def test_the_examples_say_what_they_show(client: TestClient) -> None:
    got = {name: post(client, body)["tensors"] for name, body in examples().items()}
    assert tensor(got["ones_plus_two_squared"]["out"]["value"]).item() == 36.0
    assert_close(tensor(got["ones_plus_two_squared"]["a"]["grad"]), torch.full((2, 2), 6.0))
    assert_close(tensor(got["mean_of_square"]["x"]["grad"]), torch.full((3, 3), 4 / 3))
    v = torch.tensor([0.1, 1.0, 0.0001])
    assert_close(tensor(got["vector_jacobian_product"]["x"]["grad"]), v * 8)
    ng = got["no_grad_and_detach"]
    assert [ng[n]["requires_grad"] for n in ("with_grad", "without_grad", "detached")] == [
        True,
        False,
        False,
    ]
    torch.manual_seed(0)
    x = torch.randn(3)
    for name, value in (("with_grad", x**2), ("without_grad", x**2), ("detached", x)):
        assert_close(tensor(ng[name]["value"]), value)
    # The logistic neuron, in PyTorch.
    neuron = got["logistic_neuron"]
    x = torch.tensor([[1.0, 2.0, 3.0]])
    torch.manual_seed(1)
    w = torch.randn(3, 2, requires_grad=True)
    b = torch.zeros(2, requires_grad=True)
    z = x @ w + b
    z.retain_grad()
    loss = torch.sigmoid(z).mean()
    for _ in range(2):
        loss.backward(retain_graph=True)
    assert_close(tensor(neuron["loss"]["value"]), loss.detach())
    assert_close(tensor(neuron["w"]["grad"]), w.grad)
    assert_close(tensor(neuron["b"]["grad"]), b.grad)
    assert_close(tensor(neuron["z"]["grad"]), z.grad)
    assert neuron["x"]["grad"] is None and neuron["xw"]["next_functions"] == [None, "w"]
