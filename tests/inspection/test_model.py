"""/v1/models/inspect: every activation and gradient equals the same nn.Sequential run directly."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn
from torch.testing import assert_close

from schemas.examples import MODEL_EXAMPLES, SEED_PIPELINE, SEED_PIPELINE_SHAPES
from schemas.models import ModelInspectRequest
from service.errors import ProblemError
from service.inspection.model import inspect_model
from service.runtime import Runtime
from tests.conftest import make_settings
from tests.pipelines import MIXED_PIPELINES, PIPELINES, direct_model
from tests.torchvision_direct import build, check_run, run


def values(obj: dict[str, Any]) -> torch.Tensor:
    """A response tensor object as a torch tensor."""
    return torch.tensor(obj["data"], dtype=torch.float32).reshape(obj["shape"])


def direct_run(
    model: nn.Sequential, x: torch.Tensor, backward: str | torch.Tensor | None
) -> list[torch.Tensor]:
    """Run `model` layer by layer, keeping each output's gradient; return the outputs."""
    outputs = []
    h = x
    for layer in model:
        h = layer(h)
        if backward is not None:
            h.retain_grad()
        outputs.append(h)
    if isinstance(backward, torch.Tensor):
        h.backward(backward)
    elif backward == "sum":
        h.sum().backward()
    elif backward == "mean":
        h.mean().backward()
    return outputs


def inspect(client: TestClient, body: dict[str, Any]) -> Any:
    response = client.post("/v1/models/inspect", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def check_against_direct(
    body: Any, model: nn.Sequential, x: torch.Tensor, outputs: list[torch.Tensor]
) -> None:
    assert len(body["layers"]) == len(outputs)
    for row, out in zip(body["layers"], outputs, strict=True):
        assert row["output_shape"] == list(out.shape) == row["output"]["shape"]
        assert_close(values(row["output"]), out.detach())
        expected_fn = None if out.grad_fn is None else type(out.grad_fn).__name__
        assert row["output"]["grad_fn"] == expected_fn
        if out.grad is None:
            assert row["output"]["grad"] is None
        else:
            assert_close(values(row["output"]["grad"]), out.grad)
        params = dict(model.named_parameters())
        prefix = f"{row['index']}."
        assert set(row["parameters"]) == {n for n in params if n.startswith(prefix)}
        for name, obj in row["parameters"].items():
            assert_close(values(obj), params[name].detach())
            if params[name].grad is None:
                assert obj["grad"] is None
            else:
                assert_close(values(obj["grad"]), params[name].grad)
    assert_close(values(body["input"]), x.detach())
    if x.grad is not None:
        assert_close(values(body["input"]["grad"]), x.grad)


def test_seed_pipeline_equals_direct_run(client: TestClient) -> None:
    body = inspect(
        client,
        {
            "layers": SEED_PIPELINE,
            "input": {"shape": [1, 1, 28, 28], "seed": 5},
            "weights": {"seed": 7},
            "backward": {"target": "sum"},
        },
    )
    model = direct_model(SEED_PIPELINE, seed=7)
    torch.manual_seed(5)
    x = torch.randn(1, 1, 28, 28).requires_grad_(True)
    outputs = direct_run(model, x, "sum")
    assert [row["output_shape"] for row in body["layers"]] == SEED_PIPELINE_SHAPES
    assert [row["output"]["grad_fn"] for row in body["layers"]] == [
        "ConvolutionBackward0",
        "ReluBackward0",
        "MaxPool2DWithIndicesBackward0",
        "ViewBackward0",
        "AddmmBackward0",
        "SoftmaxBackward0",
    ]
    check_against_direct(body, model, x, outputs)
    assert body["seeds"] == {"input": 5, "weights": 7, "forward": 0}
    assert body["summary"]["parameter_count"] == 29330


@pytest.mark.parametrize(("layers", "shape"), PIPELINES)
def test_generated_pipelines_equal_direct_run(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int]
) -> None:
    body = inspect(
        client,
        {"layers": layers, "input": {"shape": shape, "seed": 2}, "backward": {"target": "mean"}},
    )
    model = direct_model(layers, seed=0)
    x = torch.Generator().manual_seed(2)
    x = torch.randn(*shape, generator=x).requires_grad_(True)
    check_against_direct(body, model, x, direct_run(model, x, "mean"))


def test_table_equals_summary(client: TestClient) -> None:
    layers, shape = PIPELINES[4]
    inspected = inspect(client, {"layers": layers, "input": {"shape": shape}})
    summary = client.post("/v1/models/summary", json={"layers": layers, "input_shape": shape})
    table = summary.json()
    assert inspected["summary"] == table["summary"]
    assert inspected["warnings"] == table["warnings"]
    trimmed = [
        {k: v for k, v in row.items() if k not in ("output", "parameters", "buffers", "selected")}
        for row in inspected["layers"]
    ]
    assert trimmed == table["layers"]


def test_state_keyed_by_state_dict_names(client: TestClient) -> None:
    layers = [
        {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 2},
        {"type": "activation", "name": "relu"},
        {"type": "flatten"},
        {"type": "linear", "in_features": 8, "out_features": 3},
    ]
    model = direct_model(layers, seed=11)
    for p in model.parameters():
        p.data.mul_(-1.5)  # anything but the seeded values
    state = {
        name: {"shape": list(t.shape), "data": t.flatten().tolist()}
        for name, t in model.state_dict().items()
    }
    assert set(state) == {"0.weight", "0.bias", "3.weight", "3.bias"}
    x = torch.randn(1, 1, 3, 3)
    body = inspect(
        client,
        {
            "layers": layers,
            "input": {"tensor": {"shape": [1, 1, 3, 3], "data": x.flatten().tolist()}},
            "weights": {"state": state},
            "backward": {"target": "sum"},
        },
    )
    x.requires_grad_(True)
    check_against_direct(body, model, x, direct_run(model, x, "sum"))
    assert body["seeds"] == {"input": None, "weights": None, "forward": 0}


def test_state_with_wrong_names_teaches(client: TestClient) -> None:
    layers = [{"type": "linear", "in_features": 2, "out_features": 2}]
    response = client.post(
        "/v1/models/inspect",
        json={
            "layers": layers,
            "input": {"shape": [1, 2]},
            "weights": {"state": {"weight": {"data": [[1, 0], [0, 1]]}}},
        },
    )
    assert response.status_code == 422
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {
        "body.weights.state.weight",
        "body.weights.state.0.weight",
        "body.weights.state.0.bias",
    }


def test_grad_output_form(client: TestClient) -> None:
    example = MODEL_EXAMPLES["mlp_grad_output"]["value"]
    body = inspect(client, example)
    model = direct_model(example["layers"], seed=0)
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(1)).requires_grad_(True)
    v = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    outputs = direct_run(model, x, v)
    check_against_direct(body, model, x, outputs)
    assert_close(values(body["layers"][-1]["output"]["grad"]), v)


def test_forward_only(client: TestClient) -> None:
    body = inspect(client, {"layers": SEED_PIPELINE, "input": {"shape": [2, 1, 28, 28]}})
    model = direct_model(SEED_PIPELINE)
    x = torch.randn(2, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        outputs = direct_run(model, x, None)
    check_against_direct(body, model, x, outputs)
    for row in body["layers"]:
        assert row["output"]["grad_fn"] is None and row["output"]["grad"] is None
        assert all(p["grad"] is None for p in row["parameters"].values())
    assert body["input"]["grad"] is None
    assert body["timing_ms"]["backward_ms"] is None


def test_include_and_base64(client: TestClient) -> None:
    body = inspect(
        client,
        {
            "layers": SEED_PIPELINE,
            "input": {"shape": [1, 1, 28, 28]},
            "backward": {"target": "sum"},
            "include": ["gradients"],
            "encoding": "base64",
        },
    )
    first = body["layers"][0]
    assert "data" not in first["output"] and "data_b64" not in first["output"]
    grad = first["output"]["grad"]
    raw = torch.frombuffer(
        bytearray(__import__("base64").b64decode(grad["data_b64"])), dtype=torch.float32
    ).reshape(grad["shape"])
    model = direct_model(SEED_PIPELINE)
    x = torch.randn(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    outputs = direct_run(model, x, "sum")
    assert_close(raw, outputs[0].grad)


def test_examples_run(client: TestClient) -> None:
    for name, example in MODEL_EXAMPLES.items():
        body = inspect(client, example["value"])
        value = example["value"]
        if "model" in value:  # torchvision's, run directly with hooks on every module
            arch = value["model"]
            model = build(arch["torchvision"], arch["kwargs"], value["weights"]["seed"])
            direct = run(model, value["input"]["shape"], value["input"]["seed"])
            compared = check_run(body, direct, value["select"], value["include"])
            assert compared == 2 + 6  # conv1, fc; layer1.0's five modules, relu called twice
            assert max(row["depth"] for row in body["layers"] if not row["selected"]) == 2
        elif name != "mlp_grad_output":
            spec = example["value"]["input"]
            batch = spec["shape"][0] if "shape" in spec else spec["mnist"]["batch_size"]
            assert [r["output_shape"] for r in body["layers"]] == [
                [batch, *s[1:]] for s in SEED_PIPELINE_SHAPES
            ]


def test_misfit_in_inspect(client: TestClient) -> None:
    layers = [*SEED_PIPELINE[:4], {"type": "linear", "in_features": 784, "out_features": 10}]
    response = client.post(
        "/v1/models/inspect", json={"layers": layers, "input": {"shape": [1, 1, 28, 28]}}
    )
    assert response.status_code == 422
    assert response.json()["detail"].endswith("but receives [1, 2880]; set in_features=2880")


def test_limits_count_every_intermediate() -> None:
    # each tensor fits 30,000 (the largest: linear's weight, 28,800), all together do not
    runtime = Runtime.from_settings(
        make_settings(max_tensor_elements=30_000, max_total_elements=50_000)
    )
    request = ModelInspectRequest.model_validate(
        {"layers": SEED_PIPELINE, "input": {"shape": [1, 1, 28, 28]}}
    )
    with pytest.raises(ProblemError) as caught:
        inspect_model(request, runtime)
    assert caught.value.status == 413
    assert caught.value.context is not None
    assert caught.value.context["elements"] == 784 + 2 * 11520 + 2 * 2880 + 2 * 10 + 29330


def test_intermediate_over_tensor_limit() -> None:
    runtime = Runtime.from_settings(make_settings(max_tensor_elements=10_000))
    request = ModelInspectRequest.model_validate(
        {"layers": SEED_PIPELINE, "input": {"shape": [1, 1, 28, 28]}}
    )
    with pytest.raises(ProblemError) as caught:
        inspect_model(request, runtime)
    assert caught.value.status == 413
    assert caught.value.context is not None
    assert caught.value.context["tensor"] == "layers.0.output (conv2d)"


def test_nothing_to_differentiate(client: TestClient) -> None:
    response = client.post(
        "/v1/models/inspect",
        json={
            "layers": [{"type": "activation", "name": "relu"}, {"type": "flatten"}],
            "input": {"shape": [2, 3], "requires_grad": False},
            "backward": {"target": "sum"},
        },
    )
    assert response.status_code == 422
    assert response.json()["type"].endswith("nothing-to-differentiate")


@pytest.mark.cuda
def test_seed_pipeline_on_cuda_equals_cpu(client: TestClient) -> None:
    body = {
        "layers": SEED_PIPELINE,
        "input": {"shape": [2, 1, 28, 28]},
        "backward": {"target": "sum"},
    }
    cpu = inspect(client, {**body, "device": "cpu"})
    gpu = inspect(client, {**body, "device": "cuda"})
    assert gpu["device"] == "cuda:0"
    for a, b in zip(cpu["layers"], gpu["layers"], strict=True):
        assert_close(values(b["output"]), values(a["output"]), atol=1e-4, rtol=1e-4)
        assert_close(values(b["output"]["grad"]), values(a["output"]["grad"]), atol=1e-4, rtol=1e-4)


def test_each_layer_carries_its_pictures_as_render_draws_them(client: TestClient) -> None:
    import base64

    body = {
        "layers": SEED_PIPELINE,
        "input": {"shape": [1, 1, 28, 28]},
        "backward": {"target": "sum"},
        "include": ["images"],
    }
    got = client.post("/v1/models/inspect", json=body).json()
    with_weights = {0, 4}  # conv2d and linear
    for index, row in enumerate(got["layers"]):
        images = row["images"]
        drawn = {view for view, uri in images.items() if uri is not None}
        weights = {"weights", "weight_grad"} if index in with_weights else set()
        assert drawn == {"input", "output", "input_grad"} | weights, index
        for view in drawn:
            assert images[view].startswith("data:image/png;base64,")
            png = client.post(
                "/v1/models/render",
                json={k: v for k, v in body.items() if k != "include"}
                | {"layer": index, "view": view},
            )
            assert png.status_code == 200, png.text
            assert base64.b64decode(images[view].split(",", 1)[1]) == png.content, (index, view)


@pytest.mark.parametrize(("layers", "shape"), MIXED_PIPELINES)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_mixed_pipelines_equal_direct_run_in_both_modes(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], mode: str
) -> None:
    """Batch norms use batch statistics and update their running ones in train mode, running
    ones in eval; dropout draws its masks after torch.manual_seed(forward_seed) in train mode
    and passes values through in eval: every output, gradient, parameter and buffer as the
    direct run gives them."""
    body = inspect(
        client,
        {
            "layers": layers,
            "input": {"shape": shape, "seed": 2},
            "weights": {"seed": 4},
            "backward": {"target": "sum"},
            "mode": mode,
            "forward_seed": 11,
        },
    )
    assert (body["mode"], body["dtype"], body["casts"]) == (mode, "float32", [])
    model = direct_model(layers, seed=4).train(mode == "train")
    x = torch.randn(*shape, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    torch.manual_seed(11)
    check_against_direct(body, model, x, direct_run(model, x, "sum"))
    buffers = dict(model.named_buffers())
    returned = {name: obj for row in body["layers"] for name, obj in row["buffers"].items()}
    assert set(returned) == set(buffers)
    for name, obj in returned.items():
        assert obj["dtype"] == str(buffers[name].dtype).removeprefix("torch.")
        assert_close(
            torch.tensor(obj["data"], dtype=buffers[name].dtype).reshape(obj["shape"]),
            buffers[name],
        )
