"""service/tensors/safetensors_body.py: a response as one safetensors file, read by the library."""

import json
import struct
from typing import Any

import pytest
import safetensors.torch
import torch
from fastapi.testclient import TestClient
from torch.testing import assert_close

from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from tests.helpers import tensor_from

CONV = {"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 3}
BN = {"type": "batchnorm2d", "num_features": 2}


def parts(response: Any) -> tuple[dict[str, torch.Tensor], dict[str, Any], dict[str, Any]]:
    """The tensors (read by the safetensors library), the raw header, and the JSON report."""
    assert response.status_code == 200, response.text[:300]
    assert response.headers["content-type"] == "application/x-safetensors"
    body = response.content
    assert int(response.headers["content-length"]) == len(body)
    tensors = safetensors.torch.load(body)
    (size,) = struct.unpack("<Q", body[:8])
    header = json.loads(body[8 : 8 + size])
    report = json.loads(header["__metadata__"]["report"])
    return tensors, header, report


def keys_of(report: Any) -> list[str]:
    """Every `key` the report's tensor objects name."""
    found: list[str] = []
    if isinstance(report, dict):
        if report.get("key"):
            found.append(report["key"])
        for value in report.values():
            found += keys_of(value)
    elif isinstance(report, list):
        for item in report:
            found += keys_of(item)
    return found


def without_values(json_body: Any) -> Any:
    """A JSON response with its values removed, as the safetensors report carries it."""
    if isinstance(json_body, dict):
        return {k: without_values(v) for k, v in json_body.items() if k not in ("data", "key")}
    if isinstance(json_body, list):
        return [without_values(item) for item in json_body]
    return json_body


@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16", "float16"])
def test_a_layer_as_safetensors_equals_its_json_and_pytorch(client: TestClient, dtype: str) -> None:
    body = {
        "layer": BN,
        "input": {"shape": [4, 2, 5, 5], "seed": 3},
        "mode": "train",
        "backward": {"target": "sum"},
        "dtype": dtype,
    }
    tensors, _header, report = parts(
        client.post("/v1/layers/inspect", json=body | {"encoding": "safetensors"})
    )
    as_json = client.post("/v1/layers/inspect", json=body).json()
    assert set(tensors) == {
        "input",
        "input.grad",
        "output",
        "output.grad",
        "parameters.weight",
        "parameters.weight.grad",
        "parameters.bias",
        "parameters.bias.grad",
        "buffers.running_mean",
        "buffers.running_var",
        "buffers.num_batches_tracked",
    }
    assert sorted(keys_of(report)) == sorted(tensors)
    assert without_values(report) | {"timing_ms": None} == without_values(as_json) | {
        "timing_ms": None
    }
    assert tensors["buffers.num_batches_tracked"].dtype == torch.int64
    assert tensors["output"].dtype == getattr(torch, dtype)
    for name, t in tensors.items():
        path = name.split(".")
        obj = as_json[path[0]] if path[0] in ("input", "output") else as_json[path[0]][path[1]]
        if path[-1] == "grad":
            obj = obj["grad"]
        assert_close(t, tensor_from(obj), rtol=0, atol=0)
    # PyTorch run directly
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm2d(2).to(getattr(torch, dtype)).train()
    x = torch.randn(4, 2, 5, 5, generator=torch.Generator().manual_seed(3))
    x = x.to(getattr(torch, dtype)).requires_grad_(True)
    y = bn(x)
    y.sum().backward()
    assert_close(tensors["output"], y.detach(), rtol=0, atol=0)
    assert_close(tensors["input.grad"], x.grad)
    assert_close(tensors["buffers.running_var"], bn.running_var)


def test_every_tensor_starts_aligned_for_a_typed_array_view(client: TestClient) -> None:
    """int64 indices and counters beside float16 values of odd lengths: laid out by name, the
    indices would start at byte 28 of the data; widest first, every start is aligned."""
    body = {
        "layers": [
            {"type": "embedding", "num_embeddings": 7, "embedding_dim": 3},
            {"type": "batchnorm1d", "num_features": 5},
        ],
        "input": {"shape": [2, 5], "dtype": "int64", "high": 7},
        "dtype": "float16",
        "backward": {"target": "sum"},
        "encoding": "safetensors",
    }
    response = client.post("/v1/models/inspect", json=body)
    tensors, header, _ = parts(response)
    (size,) = struct.unpack("<Q", response.content[:8])
    assert (8 + size) % 8 == 0
    itemsizes = {"F64": 8, "I64": 8, "F32": 4, "F16": 2, "BF16": 2}
    entries = {k: v for k, v in header.items() if k != "__metadata__"}
    assert {v["dtype"] for v in entries.values()} >= {"I64", "F16"}
    for entry in entries.values():
        begin, _ = entry["data_offsets"]
        assert begin % itemsizes[entry["dtype"]] == 0, entry
    assert tensors["input"].dtype == torch.int64 and "input.grad" not in tensors


def test_model_rows_and_parameters_are_named_by_module(client: TestClient) -> None:
    body = {
        "layers": [CONV, {"type": "activation", "name": "relu"}],
        "input": {"shape": [1, 2, 6, 6]},
        "backward": {"target": "mean"},
    }
    tensors, _, report = parts(
        client.post(
            "/v1/models/inspect", json=body, headers={"accept": "application/x-safetensors"}
        )
    )
    as_json = client.post("/v1/models/inspect", json=body).json()
    assert {"layers.0.output", "layers.1.output.grad", "parameters.0.weight.grad"} <= set(tensors)
    assert_close(tensors["layers.1.output"], tensor_from(as_json["layers"][1]["output"]))
    assert report["layers"][0]["parameters"]["0.weight"]["key"] == "parameters.0.weight"


def test_autograd_graphs_too(client: TestClient) -> None:
    example = AUTOGRAD_EXAMPLES["ones_plus_two_squared"]["value"]
    tensors, _, _report = parts(
        client.post("/v1/autograd", json=example | {"encoding": "safetensors"})
    )
    assert set(tensors) == {"tensors.a", "tensors.a.grad", "tensors.b", "tensors.c", "tensors.out"}
    assert_close(tensors["tensors.a.grad"], torch.full((2, 2), 6.0))
    assert tensors["tensors.out"].shape == () and tensors["tensors.out"].item() == 36.0


def test_empty_tensors_and_scalars_travel(client: TestClient) -> None:
    body = {
        "layer": {"type": "activation", "name": "relu"},
        "input": {"shape": [0, 3]},
        "encoding": "safetensors",
    }
    tensors, _, _ = parts(client.post("/v1/layers/inspect", json=body))
    assert tensors["output"].shape == (0, 3)
    scalar = body | {"input": {"tensor": {"shape": [], "data": [-2.5]}}}
    tensors, _, _ = parts(client.post("/v1/layers/inspect", json=scalar))
    assert tensors["output"].shape == () and tensors["output"].item() == 0.0


@pytest.mark.parametrize(
    ("accept", "binary"),
    [
        ("application/x-safetensors", True),
        ("application/json", False),
        ("application/json, application/x-safetensors;q=0.5", False),
        ("application/json;q=0.5, application/x-safetensors", True),
        ("*/*", False),
        (None, False),
    ],
)
def test_accept_picks_the_body(client: TestClient, accept: str | None, binary: bool) -> None:
    headers = {} if accept is None else {"accept": accept}
    body = {"layer": {"type": "flatten"}, "input": {"shape": [1, 2, 2]}}
    response = client.post("/v1/layers/inspect", json=body, headers=headers)
    kind = response.headers["content-type"]
    assert kind == ("application/x-safetensors" if binary else "application/json")
    # an explicit base64 encoding in the body wins over Accept
    explicit = client.post(
        "/v1/layers/inspect", json=body | {"encoding": "base64"}, headers=headers
    )
    assert explicit.headers["content-type"] == "application/json"
