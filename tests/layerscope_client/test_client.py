"""layerscope_client.client against a live server (one for the session, see conftest.py): each
method's report equals the JSON response parsed by the same schema, and its values equal the
JSON response's values and PyTorch's, run directly here."""

import io
import math
from pathlib import Path
from typing import Any

import httpx
import matplotlib
import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from pydantic import BaseModel
from safetensors.torch import save_file
from torch import nn
from torch.testing import assert_close
from torch.utils.data import DataLoader

from layerscope_client import Client, LayerscopeError, Result
from schemas.autograd import AutogradRequest
from schemas.models import ModelInspectRequest, ModelSummaryResponse
from schemas.problems import Problem
from schemas.requests import LayerInspectRequest
from schemas.tensors import TensorOut
from tests.helpers import tensor_from

CONV = {"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 3, "padding": 1}
LAYER_REQUEST = {
    "layer": CONV,
    "input": {"shape": [2, 2, 5, 5], "seed": 1},
    "weights": {"seed": 5},
    "backward": {"target": "sum"},
}


def tensor_objects(node: Any, path: str = "") -> dict[str, dict[str, Any]]:
    """Every tensor object of a report (a dict with shape, dtype and stats) by its path."""
    found: dict[str, dict[str, Any]] = {}
    if isinstance(node, dict):
        if {"shape", "dtype", "stats"} <= node.keys():
            found[path] = node
        for key, value in node.items():
            found |= tensor_objects(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found |= tensor_objects(value, f"{path}.{i}")
    return found


def without_values(node: Any) -> Any:
    """A report without values, entry names and timings (which differ from run to run)."""
    if isinstance(node, dict):
        return {
            k: without_values(v)
            for k, v in node.items()
            if k not in ("data", "data_b64", "key", "timing_ms")
        }
    if isinstance(node, list):
        return [without_values(v) for v in node]
    return node


def tensor_out(obj: dict[str, Any]) -> TensorOut:
    """A report's tensor object as TensorOut (without its grad and grad_fn)."""
    return TensorOut.model_validate({k: v for k, v in obj.items() if k in TensorOut.model_fields})


def assert_matches_json(result: Result[Any], as_json: dict[str, Any]) -> None:
    """The result's report equals the JSON response (parsed by the same model) but for values,
    and every tensor of the JSON response that carries values equals the result's array."""
    report = result.report.model_dump(mode="json")
    plain = type(result.report).model_validate(as_json).model_dump(mode="json")
    assert without_values(report) == without_values(plain)
    binary, json_objects = tensor_objects(report), tensor_objects(plain)
    assert binary.keys() == json_objects.keys()
    with_values = [path for path, obj in json_objects.items() if obj["data"] is not None]
    assert with_values, "nothing to compare"
    assert {binary[path]["key"] for path in with_values} == set(result.tensors)
    for path in with_values:
        got = result.array(tensor_out(binary[path]))
        assert isinstance(got, torch.Tensor)
        assert_close(got, tensor_from(json_objects[path]), rtol=0, atol=0, equal_nan=True)


def test_a_layer_equals_its_json_response_and_pytorch(live: Client, raw: httpx.Client) -> None:
    result = live.inspect_layer(LayerInspectRequest.model_validate(LAYER_REQUEST))
    assert_matches_json(result, raw.post("/v1/layers/inspect", json=LAYER_REQUEST).json())

    torch.manual_seed(5)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    torch.manual_seed(1)
    x = torch.randn(2, 2, 5, 5, requires_grad=True)
    y = conv(x)
    y.sum().backward()
    report = result.report
    assert report.output.grad_fn == type(y.grad_fn).__name__
    expected: list[tuple[TensorOut | None, torch.Tensor | None]] = [
        (report.input, x),
        (report.input.grad, x.grad),
        (report.output, y),
        (report.output.grad, torch.ones_like(y)),
        (report.parameters["weight"], conv.weight),
        (report.parameters["weight"].grad, conv.weight.grad),
        (report.parameters["bias"], conv.bias),
        (report.parameters["bias"].grad, conv.bias.grad),
    ]
    for tensor, want in expected:
        assert want is not None
        assert_close(result.array(tensor), want.detach())


def test_a_torchvision_model_with_select(live: Client, raw: httpx.Client) -> None:
    request = {
        "model": {"torchvision": "resnet18", "kwargs": {"num_classes": 10}},
        "input": {"shape": [1, 3, 32, 32], "seed": 2},
        "weights": {"seed": 3},
        "select": ["layer1.0.conv1", "fc"],
        "backward": {"target": "sum"},
    }
    result = live.inspect_model(request)
    assert_matches_json(result, raw.post("/v1/models/inspect", json=request).json())

    torch.manual_seed(3)
    net = torchvision.models.resnet18(num_classes=10).eval()
    outputs: dict[str, torch.Tensor] = {}

    def keep(name: str) -> Any:
        def hook(module: nn.Module, args: Any, output: torch.Tensor) -> None:
            output.retain_grad()
            outputs[name] = output

        return hook

    net.layer1[0].conv1.register_forward_hook(keep("layer1.0.conv1"))
    net.fc.register_forward_hook(keep("fc"))
    torch.manual_seed(2)
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    net(x).sum().backward()

    rows = {row.name: row for row in result.report.layers if row.selected}
    assert rows.keys() == outputs.keys()
    for name, output in outputs.items():
        traced = rows[name].output
        assert traced is not None
        assert_close(result.array(traced), output.detach())
        assert_close(result.array(traced.grad), output.grad)
    parameters = dict(net.named_parameters())
    for name in ("layer1.0.conv1.weight", "fc.weight", "fc.bias"):
        traced_parameter = rows[name.rsplit(".", 1)[0]].parameters[name]
        assert_close(result.array(traced_parameter), parameters[name].detach())
        assert_close(result.array(traced_parameter.grad), parameters[name].grad)
    assert_close(result.array(result.report.input.grad), x.grad)


def test_autograd_equals_its_json_response_and_pytorch(live: Client, raw: httpx.Client) -> None:
    request = {
        "tensors": {
            "a": {"tensor": {"data": [[1.0, 2.0], [3.0, -4.0]]}},
            "w": {"shape": [2, 3], "seed": 4},
        },
        "ops": [
            {"name": "b", "op": "matmul", "args": ["a", "w"]},
            {"name": "c", "op": "tanh", "args": ["b"]},
            {"name": "d", "op": "sum", "args": ["c"]},
        ],
        "backward": {"of": "d", "retain_grad": ["b"]},
    }
    result = live.autograd(AutogradRequest.model_validate(request))
    assert_matches_json(result, raw.post("/v1/autograd", json=request).json())

    a = torch.tensor([[1.0, 2.0], [3.0, -4.0]], requires_grad=True)
    torch.manual_seed(4)
    w = torch.randn(2, 3, requires_grad=True)
    b = a @ w
    b.retain_grad()
    c = b.tanh()
    d = c.sum()
    d.backward()
    named = result.report.tensors
    for name, t in {"a": a, "w": w, "b": b, "c": c, "d": d}.items():
        assert_close(result.array(named[name].value), t.detach())
        assert named[name].grad_fn == (None if t.grad_fn is None else type(t.grad_fn).__name__)
    for name, t in {"a": a, "w": w, "b": b}.items():
        assert t.grad is not None
        assert_close(result.array(named[name].grad), t.grad)
    assert named["c"].grad is None
    with pytest.raises(ValueError, match="null"):
        result.array(named["c"].grad)


def test_a_summary_as_json_and_as_text(live: Client, raw: httpx.Client) -> None:
    request = {
        "layers": [
            {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3},
            {"type": "activation", "name": "relu"},
            {"type": "flatten"},
            {"type": "linear", "in_features": 4 * 26 * 26, "out_features": 10},
        ],
        "input_shape": [2, 1, 28, 28],
    }
    table = live.summary(request)
    assert table == ModelSummaryResponse.model_validate(
        raw.post("/v1/models/summary", json=request).json()
    )
    net = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(2704, 10))
    x, shapes = torch.zeros(2, 1, 28, 28), []
    for layer in net:
        x = layer(x)
        shapes.append(list(x.shape))
    assert [row.output_shape for row in table.layers] == shapes
    count = sum(p.numel() for p in net.parameters())
    assert table.summary.parameter_count == count
    text = live.summary_text(request)
    assert text == raw.post("/v1/models/summary", params={"format": "text"}, json=request).text
    assert f"Total params: {count:,}" in text


PIPELINE = [
    {"type": "linear", "in_features": 3, "out_features": 4},
    {"type": "activation", "name": "tanh"},
    {"type": "linear", "in_features": 4, "out_features": 2},
]


def test_an_upload_with_a_safetensors_weights_file(live: Client, tmp_path: Path) -> None:
    torch.manual_seed(7)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    path = tmp_path / "net.safetensors"
    save_file(net.state_dict(), str(path))
    x = torch.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    spec = ModelInspectRequest.model_validate(
        {
            "layers": PIPELINE,
            "input": {"tensor": {"data": x.tolist()}},
            "backward": {"target": "sum"},
        }
    )
    result = live.inspect_model_upload(spec, weights=path)
    y = net(x)
    y.sum().backward()
    rows = result.report.layers
    final = rows[-1].output
    assert final is not None
    assert_close(result.array(final), y.detach())
    assert_close(result.array(result.report.input.grad), x.grad)
    for name, parameter in net.named_parameters():
        traced = rows[int(name.split(".")[0])].parameters[name]
        assert_close(result.array(traced), parameter.detach(), rtol=0, atol=0)
        assert_close(result.array(traced.grad), parameter.grad)
    # The same weights as a mapping of tensors (the client makes the safetensors file).
    again = live.inspect_model_upload(spec, weights=net.state_dict())
    assert again.tensors.keys() == result.tensors.keys()
    for key, value in result.tensors.items():
        assert torch.equal(again[key], value)


def test_uploaded_images_are_the_digits_the_service_serves(live: Client, tmp_path: Path) -> None:
    pngs = [live.mnist_png("test", i) for i in (0, 1)]
    pixels = np.stack([np.asarray(Image.open(io.BytesIO(png))) for png in pngs])
    expected = (
        torch.from_numpy(pixels).float().div(255).sub(0.5).unsqueeze(1)
    )  # ToTensor, Normalize
    spec = {"layer": {"type": "maxpool2d", "kernel_size": 2}}
    result = live.inspect_layer_upload(spec, pngs)
    assert_close(result.array(result.report.input), expected, rtol=0, atol=0)
    assert_close(result.array(result.report.output), nn.functional.max_pool2d(expected, 2))
    files = []
    for i, png in enumerate(pngs):
        files.append(tmp_path / f"digit{i}.png")
        files[-1].write_bytes(png)
    from_paths = live.inspect_layer_upload(spec, files)
    assert torch.equal(from_paths.array(from_paths.report.input), expected)
    sample = live.mnist_sample("test", 1)
    assert torch.equal(sample.array(sample.report.tensor), expected[1:2])


def test_mnist_batches_as_a_dataloader_yields_them(live: Client, raw: httpx.Client) -> None:
    (split,) = [s for s in live.mnist().splits if s.name == "test"]
    batch = live.mnist_batch("test", batch_size=4, shuffle=True, seed=3, batch=1)
    loader = DataLoader(
        range(split.size), batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(3)
    )
    positions = [int(i) for i in list(loader)[1]]
    assert batch.report.indices == positions
    assert batch.report.batches == math.ceil(split.size / 4)
    samples = [live.mnist_sample("test", i) for i in positions]
    assert batch.report.labels == [s.report.label for s in samples]
    stacked = torch.cat([s.array(s.report.tensor) for s in samples])
    assert torch.equal(batch.array(batch.report.tensor), stacked)
    params = {"batch_size": 4, "shuffle": "true", "seed": 3, "batch": 1, "columns": 2}
    png = raw.get("/v1/mnist/test/batch.png", params=params).content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (
        live.mnist_batch_png("test", batch_size=4, shuffle=True, seed=3, batch=1, columns=2) == png
    )


def test_renders_are_the_services_pictures(live: Client, raw: httpx.Client) -> None:
    layer = LAYER_REQUEST | {"view": "weights", "colormap": "coolwarm", "scale": 2}
    assert live.render_layer(layer) == raw.post("/v1/layers/render", json=layer).content
    torch.manual_seed(11)
    net = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    state = {
        name: {"shape": list(t.shape), "data": t.reshape(-1).tolist()}
        for name, t in net.state_dict().items()
    }
    model = {"layers": PIPELINE, "input": {"shape": [1, 3]}, "layer": 0, "view": "weights"}
    with_state = model | {"weights": {"state": state}}
    png = raw.post("/v1/models/render", json=with_state).content
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert live.render_model(with_state) == png
    # The same weights uploaded as a safetensors file made from the state_dict.
    assert live.render_model_upload(model, weights=net.state_dict()) == png
    other = live.render_model_upload(model, weights={k: -v for k, v in net.state_dict().items()})
    assert other != png


def test_the_service_operations(live: Client) -> None:
    assert live.healthz().status == "ok"
    assert live.readyz().status == "ready"
    info = live.info()
    assert (info.torch, info.torchvision) == (torch.__version__, torchvision.__version__)
    assert info.default_device == "cpu"
    names = [a.name for a in live.models().architectures]
    assert sorted(names) == sorted(torchvision.models.list_models(module=torchvision.models))
    viridis = {c.name: c for c in live.colormaps().colormaps}["viridis"]
    expected = matplotlib.colormaps["viridis"](np.arange(256), bytes=True)[:, :3]
    assert viridis.colors == ["#" + bytes(rgb).hex() for rgb in expected.tolist()]


def test_problems_are_raised_with_their_details(live: Client, raw: httpx.Client) -> None:
    misfit = {
        "layer": {"type": "linear", "in_features": 4, "out_features": 2},
        "input": {"shape": [1, 5]},
    }
    with pytest.raises(LayerscopeError) as caught:
        live.inspect_layer(misfit)
    error = caught.value
    assert error.status == 422
    assert error.problem == Problem.model_validate(
        raw.post("/v1/layers/inspect", json=misfit).json()
    )
    assert error.problem.type == "/problems/shape-mismatch"
    assert [(e.field, e.fix) for e in error.problem.errors] == [("body.layer", "set in_features=5")]
    assert str(error).startswith("422 Input does not fit the layer: ")
    assert "body.layer: " in str(error) and "(fix: set in_features=5)" in str(error)

    # A dict the schemas refuse: the service's problem, with its fix.
    with pytest.raises(LayerscopeError) as caught:
        live.inspect_layer(LAYER_REQUEST | {"layer": CONV | {"kernal_size": 3}})
    fields = [(e.field, e.type) for e in caught.value.problem.errors]
    assert fields == [("body.layer.kernal_size", "extra_forbidden")]
    assert "(fix: remove this field" in str(caught.value)

    with pytest.raises(LayerscopeError) as caught:
        live.inspect_layer_upload(LAYER_REQUEST, live.mnist_png())
    assert caught.value.problem.type == "/problems/input-in-spec"
    assert caught.value.problem.errors[0].field == "spec.input"

    with pytest.raises(LayerscopeError) as caught:
        live.mnist_sample("test", 10_000)
    assert caught.value.status == 404

    with Client(live.http.base_url.__str__(), api_key="wrong") as stranger:
        assert stranger.healthz().status == "ok"  # not under /v1: no key needed
        with pytest.raises(LayerscopeError) as caught:
            stranger.info()
    assert (caught.value.status, caught.value.problem.type) == (401, "/problems/invalid-api-key")


DTYPES = [
    ("float32", np.float32),
    ("float64", np.float64),
    ("float16", np.float16),
    ("bfloat16", np.float32),  # numpy has no bfloat16: float32 holding the same values
]


@pytest.mark.parametrize(("dtype", "numpy_dtype"), DTYPES)
def test_numpy_mode_returns_arrays_of_the_right_dtypes(
    live: Client, live_numpy: Client, dtype: str, numpy_dtype: type[np.generic]
) -> None:
    request = {
        "layer": {"type": "batchnorm2d", "num_features": 2},
        "input": {"shape": [3, 2, 4, 4], "seed": 6},
        "mode": "train",
        "backward": {"target": "sum"},
        "dtype": dtype,
    }
    as_torch = live.inspect_layer(request)
    for encoding in ("safetensors", "base64", "json"):
        in_numpy = live_numpy.inspect_layer(request | {"encoding": encoding})
        objects = tensor_objects(in_numpy.report.model_dump(mode="json"))
        torch_objects = tensor_objects(as_torch.report.model_dump(mode="json"))
        assert objects.keys() == torch_objects.keys()
        assert len(objects) == 11  # input, output, weight, bias, their grads; 3 buffers
        for path, obj in objects.items():
            array = in_numpy.array(tensor_out(obj))
            tensor = as_torch.array(tensor_out(torch_objects[path]))
            assert isinstance(array, np.ndarray) and isinstance(tensor, torch.Tensor)
            integer = path == "buffers.num_batches_tracked"
            assert array.dtype == (np.int64 if integer else numpy_dtype), path
            assert tensor.dtype == (torch.int64 if integer else getattr(torch, dtype)), path
            want = tensor.float() if tensor.dtype == torch.bfloat16 else tensor
            np.testing.assert_array_equal(array, want.numpy(), strict=True)


def test_bfloat16_values_equal_pytorchs(live: Client, live_numpy: Client) -> None:
    request = {
        "layer": {"type": "linear", "in_features": 4, "out_features": 3},
        "input": {"shape": [2, 4], "seed": 8},
        "weights": {"seed": 9},
        "backward": {"target": "sum"},
        "dtype": "bfloat16",
    }
    torch.manual_seed(9)
    linear = nn.Linear(4, 3).to(torch.bfloat16)
    torch.manual_seed(8)
    x = torch.randn(2, 4).to(torch.bfloat16).requires_grad_()
    y = linear(x)
    y.sum().backward()
    assert x.grad is not None and linear.weight.grad is not None
    for encoding in ("safetensors", "base64", "json"):
        for client in (live, live_numpy):
            result = client.inspect_layer(request | {"encoding": encoding})
            report = result.report
            pairs = [
                (report.input, x),
                (report.output, y),
                (report.input.grad, x.grad),
                (report.parameters["weight"], linear.weight),
                (report.parameters["weight"].grad, linear.weight.grad),
            ]
            for tensor, want in pairs:
                got = result.array(tensor)
                if client is live:
                    assert isinstance(got, torch.Tensor) and got.dtype == torch.bfloat16
                    assert_close(got, want.detach())
                else:
                    assert isinstance(got, np.ndarray) and got.dtype == np.float32
                    assert_close(torch.from_numpy(got), want.detach().float())


def test_models_are_sent_as_the_fields_they_were_given(live: Client) -> None:
    # An MNIST input names `index` only: sending its defaults (shuffle, seed, ...) too would be
    # refused ("go only with batch_size"), so the client sends what was set.
    request = LayerInspectRequest.model_validate(
        {"layer": {"type": "flatten"}, "input": {"mnist": {"index": 3}}}
    )
    result = live.inspect_layer(request)
    assert result.report.labels is not None
    sample = live.mnist_sample("test", 3)
    assert result.report.labels.targets == [sample.report.label]
    assert torch.equal(result.array(result.report.input), sample.array(sample.report.tensor))


def test_results_are_typed_schema_models(live: Client) -> None:
    result = live.inspect_layer(LAYER_REQUEST)
    assert isinstance(result.report, BaseModel)
    assert type(result.report).__name__ == "LayerInspectResponse"
    assert result["output"] is result.array(result.report.output)


def test_the_explain_methods_equal_captum_and_the_json_answers(
    live: Client, raw: httpx.Client
) -> None:
    """attribute (binary) equals Captum's Saliency run here; receptive_field and sweep_layer
    equal the routes' JSON answers parsed by the same models."""
    from captum.attr import Saliency

    from schemas.explain import LayerSweepResponse, ReceptiveFieldResponse
    from tests.explain.test_attribution import SEED, seed_model, seven

    model, x = seed_model(), seven()
    result = live.attribute(SEED | {"method": "saliency", "target": 7})
    want = Saliency(model).attribute(x.requires_grad_(), target=7)
    assert_close(torch.as_tensor(result.array(result.report.attribution)), want)
    assert result.report.heatmap is not None and result.report.heatmap.startswith("data:image/png")

    field = {"layers": SEED["layers"], "input": SEED["input"], "module": 2}
    field |= {"unit": {"channel": 0, "position": [5, 7]}}
    got = live.receptive_field(field)
    assert got == ReceptiveFieldResponse.model_validate_json(
        raw.post("/v1/models/receptive-field", json=field).content
    )
    # MaxPool2d(2, 2) after Conv2d(k=5): unit (5, 7) sees rows 10..15, cols 14..19
    assert (got.window.start, got.window.end) == ([10, 14], [15, 19])

    sweep = {"layer": CONV, "input": {"shape": [1, 2, 6, 6], "seed": 1}}
    sweep |= {"argument": "stride", "values": [1, 2, 0]}
    swept = live.sweep_layer(sweep)
    assert [r.status for r in swept.results] == [200, 200, 422]
    x6 = torch.randn(1, 2, 6, 6, generator=torch.Generator().manual_seed(1))
    for value, item in zip([1, 2], swept.results[:2], strict=True):
        torch.manual_seed(0)
        conv = nn.Conv2d(2, 3, 3, padding=1, stride=value).eval()
        assert item.result is not None
        with torch.no_grad():
            assert_close(tensor_from(item.result.output.model_dump(mode="json")), conv(x6))
    answered = LayerSweepResponse.model_validate_json(
        raw.post("/v1/layers/sweep", json=sweep).content
    )
    assert without_values(swept.model_dump(mode="json")) == without_values(
        answered.model_dump(mode="json")
    )


def test_every_operation_has_a_method() -> None:
    """One method per operation of the OpenAPI document (each docstring opens with the operation
    it sends); /metrics is for Prometheus, not for clients."""
    import inspect
    import re

    from service.app import create_app
    from tests.conftest import make_settings

    paths = create_app(make_settings()).openapi()["paths"]
    operations = {(method.upper(), path) for path, item in paths.items() for method in item}
    sent = set()
    for name, function in inspect.getmembers(Client, inspect.isfunction):
        if name.startswith("_"):
            continue
        found = re.match(r"(GET|POST) (/\S*?)[:.,?]?(\s|\?|$)", inspect.getdoc(function) or "")
        if found:
            sent.add((found.group(1), found.group(2)))
    assert operations - sent == {("GET", "/metrics")}
