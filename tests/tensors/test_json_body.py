"""service/tensors/json_body.py: a streamed JSON body is byte for byte orjson's whole body."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson
import pytest
import torch
from fastapi.testclient import TestClient
from torch.testing import assert_close

from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from service.tensors import json_body, safetensors_body
from service.tensors.json_body import (
    JsonStreamResponse,
    body_chunks,
    frame,
    json_response,
)
from tests.helpers import tensor_from, tensor_json

WHOLE = orjson.OPT_SERIALIZE_NUMPY


def whole(content: Any) -> bytes:
    """The body as OrjsonResponse renders it: orjson in one piece."""
    return orjson.dumps(content, option=WHOLE)


def streamed(content: Any) -> bytes:
    """The body as json_body frames and streams it (asserts it does stream)."""
    framed = frame(content)
    assert framed is not None, "expected a streamed body"
    return b"".join(body_chunks(*framed))


@pytest.fixture
def tiny_slices(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> int:
    """Stream every array of one element or more, `request.param` elements at a time."""
    size: int = getattr(request, "param", 3)
    monkeypatch.setattr(json_body, "STREAM_ELEMENTS", 1)
    monkeypatch.setattr(json_body, "ARRAY_ELEMENTS", 1)
    monkeypatch.setattr(json_body, "SLICE_ELEMENTS", size)
    return size


def rng_array(shape: tuple[int, ...], dtype: str, seed: int = 0) -> np.ndarray:
    """Seeded normal values of `dtype`, with NaN and ±Inf among them for floats."""
    array = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    if array.dtype.kind == "f" and array.size >= 4:
        flat = array.reshape(-1)
        flat[[0, 1, 2, -1]] = [np.nan, np.inf, -np.inf, np.nan]
    return array


@pytest.mark.parametrize("tiny_slices", [1, 2, 7, 64], indirect=True)
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "int64", "int32", "bool"])
def test_arrays_of_every_dtype_and_rank_stream_as_orjson_writes_them(
    tiny_slices: int, dtype: str
) -> None:
    content = {
        "flat": rng_array((37,), dtype, 1),
        "rows": rng_array((5, 3, 2), dtype, 2),
        "wide": rng_array((2, 200), dtype, 3),
        "one": rng_array((1,), dtype, 4),
        "list": [rng_array((9,), dtype, 5), {"deep": (rng_array((4, 4), dtype, 6), "x")}],
        "empty": np.zeros((0,), dtype=dtype),
        "scalar": np.float32(1.5),
        "text": 'a\u00e9"\\\n',
        "n": None,
        "f": float("nan"),
        "b64": orjson.Fragment(b'"AAAA"'),
    }
    assert streamed(content) == whole(content)


def test_body_chunks_hold_one_slice_of_text_at_most(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(json_body, "SLICE_ELEMENTS", 1000)
    array = np.arange(300_000, dtype=np.float32) / 7
    content = {"a": {"data": array}, "b": [1, 2]}
    framed = frame(content)
    assert framed is not None
    chunks = list(body_chunks(*framed))
    assert b"".join(chunks) == whole(content)
    assert len(chunks) == 301  # 300 slices, then the closing bracket and the tail
    # one slice of 1000 float32 values in text (and the skeleton before it), not the whole body
    widest = max(len(whole(array[i : i + 1000])) for i in range(0, 300_000, 1000))
    assert max(len(c) for c in chunks) <= widest + len(b'{"a":{"data":')
    assert widest * 200 < len(whole(content))


def test_small_bodies_stay_whole_with_a_content_length() -> None:
    content = {"data": np.arange(json_body.STREAM_ELEMENTS - 1, dtype=np.float32)}
    small = json_response(content)
    assert not isinstance(small, JsonStreamResponse)
    assert small.body == whole(content)
    assert small.headers["content-length"] == str(len(small.body))
    large = json_response({"data": np.arange(json_body.STREAM_ELEMENTS, dtype=np.float32)})
    assert isinstance(large, JsonStreamResponse)
    assert "content-length" not in large.headers
    assert large.headers["content-type"] == "application/json"


def test_what_orjson_cannot_write_fails_before_streaming() -> None:
    # a strided view orjson refuses: it stays in the skeleton, so the error comes at once
    strided = np.arange(2 * json_body.STREAM_ELEMENTS, dtype=np.float32).reshape(-1, 2)[:, 0]
    content = {"big": np.zeros(json_body.STREAM_ELEMENTS, np.float32), "bad": strided}
    with pytest.raises(TypeError) as streaming:
        json_response(content)
    with pytest.raises(TypeError) as at_once:
        whole(content)
    assert str(streaming.value) == str(at_once.value)


# --- through the service: every JSON response of the inspect routes -------------------------

CONV = {"type": "conv2d", "in_channels": 2, "out_channels": 3, "kernel_size": 3}
BN = {"type": "batchnorm2d", "num_features": 2}
EVERY = ["input", "output", "parameters", "buffers", "gradients", "images"]
PIPELINE = [
    {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 5},
    {"type": "batchnorm2d", "num_features": 4},
    {"type": "activation", "name": "relu"},
    {"type": "flatten"},
    {"type": "linear", "in_features": 2304, "out_features": 10},
]
NAN_INF = {
    "tensor": {
        "shape": [1, 2, 3, 3],
        "dtype": "float16",
        # NaN, inf, -inf and 15 numbers, as float16's little-endian bytes
        "data_b64": base64.b64encode(
            np.array([np.nan, np.inf, -np.inf] + [0.5 * i - 3 for i in range(15)], "<f2").tobytes()
        ).decode(),
    }
}

REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "layer, every include",
        "/v1/layers/inspect",
        {
            "layer": BN,
            "input": {"shape": [4, 2, 5, 5], "seed": 3},
            "include": EVERY,
            "backward": {"target": "sum"},
        },
    ),
    *(
        (
            f"layer, {dtype}",
            "/v1/layers/inspect",
            {
                "layer": CONV,
                "input": {"shape": [2, 2, 6, 6], "seed": 1},
                "dtype": dtype,
                "backward": {"target": "sum"},
            },
        )
        for dtype in ("float64", "float16", "bfloat16")
    ),
    (
        "layer, NaN and inf (null)",
        "/v1/layers/inspect",
        {"layer": {"type": "activation", "name": "relu"}, "input": NAN_INF, "dtype": "float16"},
    ),
    (
        "layer, base64",
        "/v1/layers/inspect",
        {"layer": CONV, "input": {"shape": [1, 2, 5, 5], "seed": 2}, "encoding": "base64"},
    ),
    (
        "pipeline, select *",
        "/v1/models/inspect",
        {
            "layers": PIPELINE,
            "input": {"shape": [2, 1, 28, 28], "seed": 4},
            "select": ["*"],
            "backward": {"target": "sum"},
        },
    ),
    (
        "torchvision model, select *",
        "/v1/models/inspect",
        {
            "model": {"torchvision": "resnet18", "kwargs": {"num_classes": 3}},
            "input": {"shape": [1, 3, 32, 32], "seed": 5},
            "select": ["*"],
            "include": ["output"],
        },
    ),
    *(
        (f"autograd, {name}", "/v1/autograd", example["value"])
        for name, example in AUTOGRAD_EXAMPLES.items()
    ),
]


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """The content each JSON tensor response is made of, as the routes hand it over."""
    seen: list[Any] = []

    def record(content: Any) -> Any:
        seen.append(content)
        return json_response(content)

    monkeypatch.setattr(safetensors_body, "json_response", record)
    yield seen


def arrays_in(node: Any) -> int:
    """How many non-empty numpy arrays a content tree holds."""
    if isinstance(node, dict):
        return sum(arrays_in(v) for v in node.values())
    if isinstance(node, list | tuple):
        return sum(arrays_in(v) for v in node)
    return int(isinstance(node, np.ndarray) and node.size > 0)


@pytest.mark.parametrize("tiny_slices", [7, 4096], indirect=True)
@pytest.mark.parametrize(("name", "path", "body"), REQUESTS, ids=[r[0] for r in REQUESTS])
def test_streamed_responses_equal_the_whole_body(
    client: TestClient,
    recorded: list[Any],
    tiny_slices: int,
    name: str,
    path: str,
    body: dict[str, Any],
) -> None:
    r = client.post(path, json=body)
    assert r.status_code == 200, r.text[:300]
    (content,) = recorded
    assert r.content == whole(content)
    assert r.headers["content-type"] == "application/json"
    assert r.headers["x-request-id"]
    if arrays_in(content):
        assert "content-length" not in r.headers  # streamed: chunked
    else:  # base64: no arrays, the whole body as before
        assert r.headers["content-length"] == str(len(r.content))


def test_a_large_layer_response_streams_pytorchs_values(
    client: TestClient, recorded: list[Any]
) -> None:
    torch.manual_seed(0)
    x = torch.randn(1024, 64)
    body = {
        "layer": {"type": "linear", "in_features": 64, "out_features": 512},
        "input": {"tensor": tensor_json(x)},
        "include": ["output", "parameters"],
    }
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 200, r.text[:300]
    assert "content-length" not in r.headers  # 524288 values: over STREAM_ELEMENTS
    assert r.content == whole(recorded[0])
    report = json.loads(r.content)
    weight = tensor_from(report["parameters"]["weight"])
    bias = tensor_from(report["parameters"]["bias"])
    assert_close(tensor_from(report["output"]), torch.nn.functional.linear(x, weight, bias))
