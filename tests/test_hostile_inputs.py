"""A table of hostile requests, each with its expected status; the service survives them all.

Runs against an app with API keys set (every request but the auth rows carries a valid key),
so authentication is part of what is exercised.
"""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.conftest import make_settings
from tests.image_files import png_declaring

KEY = "hostile-test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}


@pytest.fixture(scope="module")
def guarded() -> Iterator[TestClient]:
    app = create_app(make_settings(api_keys=KEY))
    with TestClient(app) as c:
        app.state.runtime.ready.wait(30)
        yield c


def _json(body: Any) -> dict[str, Any]:
    return {"method": "POST", "url": "/v1/layers/inspect", "json": body, "headers": AUTH}


def _raw(url: str, content: bytes, **headers: str) -> dict[str, Any]:
    return {
        "method": "POST",
        "url": url,
        "content": content,
        "headers": AUTH | {"content-type": "application/json"} | headers,
    }


CASES: list[tuple[str, dict[str, Any], int, str]] = [
    (
        "huge input",
        _json({"layer": CONV, "input": {"shape": [100000, 100000]}}),
        413,
        "/problems/too-many-elements",
    ),
    (
        "zero channels",
        _json({"layer": CONV, "input": {"shape": [1, 0, 5, 5]}}),
        422,
        "/problems/shape-mismatch",
    ),
    (
        "negative dim",
        _json({"layer": CONV, "input": {"shape": [1, -1, 5, 5]}}),
        422,
        "/problems/invalid-request",
    ),
    (
        "1e9-element intermediate",
        {
            "method": "POST",
            "url": "/v1/models/inspect",
            "headers": AUTH,
            "json": {
                "layers": [
                    {"type": "conv2d", "in_channels": 1, "out_channels": 60000, "kernel_size": 1},
                    {"type": "flatten"},
                ],
                "input": {"shape": [1, 1, 128, 128]},
            },
        },
        413,
        "/problems/too-many-elements",
    ),
    (
        "10 MB of nested brackets",
        _raw("/v1/layers/inspect", b"[" * 5_000_000 + b"]" * 5_000_000),
        422,
        "/problems/too-deeply-nested",
    ),
    (
        "integers into a convolution",
        _json(
            {
                "layer": CONV,
                "input": {"tensor": {"shape": [1, 1, 3, 3], "data": [0] * 9, "dtype": "int64"}},
            }
        ),
        422,
        "/problems/dtype-mismatch",
    ),
    (
        "unknown dtype",
        _json(
            {
                "layer": CONV,
                "input": {"tensor": {"shape": [1, 1, 3, 3], "data": [0] * 9, "dtype": "int8"}},
            }
        ),
        422,
        "/problems/invalid-request",
    ),
    (
        "strings as data",
        _json({"layer": CONV, "input": {"tensor": {"data": ["1", "2"]}}}),
        422,
        "/problems/invalid-tensor-data",
    ),
    (
        "1000-layer pipeline",
        {
            "method": "POST",
            "url": "/v1/models/inspect",
            "headers": AUTH,
            "json": {
                "layers": [{"type": "activation", "name": "relu"}] * 1000,
                "input": {"shape": [1, 4]},
            },
        },
        422,
        "/problems/too-many-layers",
    ),
    (
        "1 GB declared Content-Length",
        _raw("/v1/layers/inspect", b"{}", **{"content-length": str(1 << 30)}),
        413,
        "/problems/body-too-large",
    ),
    (
        "decompression-bomb PNG",
        {
            "method": "POST",
            "url": "/v1/layers/inspect/upload",
            "headers": AUTH,
            "files": {"image": ("bomb.png", png_declaring(60000, 60000), "image/png")},
            "data": {"spec": json.dumps({"layer": CONV})},
        },
        413,
        "/problems/image-too-large",
    ),
    (
        "missing API key",
        {
            "method": "POST",
            "url": "/v1/layers/inspect",
            "json": {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}},
        },
        401,
        "/problems/unauthorized",
    ),
    (
        "wrong API key",
        {
            "method": "POST",
            "url": "/v1/layers/inspect",
            "headers": {"Authorization": "Bearer x"},
            "json": {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}},
        },
        401,
        "/problems/invalid-api-key",
    ),
    (
        "not JSON at all",
        _raw("/v1/layers/inspect", b"\xff\xfe\x00garbage"),
        422,
        "/problems/invalid-json",
    ),
    (
        "unknown route",
        {"method": "DELETE", "url": "/v1/layers", "headers": AUTH},
        404,
        "about:blank",
    ),
]


@pytest.mark.parametrize(
    ("name", "request_kwargs", "status", "type_"), CASES, ids=[c[0] for c in CASES]
)
def test_hostile_request_gets_its_4xx(
    guarded: TestClient, name: str, request_kwargs: dict[str, Any], status: int, type_: str
) -> None:
    kwargs = dict(request_kwargs)
    r = guarded.request(kwargs.pop("method"), kwargs.pop("url"), **kwargs)
    assert r.status_code == status, (name, r.text[:500])
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == type_
    assert r.json()["detail"]


def test_nan_and_inf_are_accepted_and_reported(guarded: TestClient) -> None:
    body = (
        b'{"layer": {"type": "activation", "name": "relu"}, "input": {"tensor": '
        b'{"shape": [4], "data": [NaN, Infinity, -Infinity, 2.0]}}}'
    )
    r = guarded.post(
        "/v1/layers/inspect", content=body, headers=AUTH | {"content-type": "application/json"}
    )
    assert r.status_code == 200
    stats = r.json()["input"]["stats"]
    assert (stats["nan_count"], stats["inf_count"], stats["min"], stats["max"]) == (1, 2, 2.0, 2.0)
    assert r.json()["output"]["data"] == [None, None, 0.0, 2.0]


def test_service_still_answers_after_all_of_them(guarded: TestClient) -> None:
    for _, request_kwargs, _, _ in CASES:
        kwargs = dict(request_kwargs)
        guarded.request(kwargs.pop("method"), kwargs.pop("url"), **kwargs)
    assert guarded.get("/readyz").json() == {"status": "ready"}
    r = guarded.post(
        "/v1/layers/inspect",
        headers=AUTH,
        json={
            "layer": {"type": "linear", "in_features": 2, "out_features": 1},
            "input": {"tensor": {"data": [[1.0, 2.0]]}},
            "weights": {"state": {"weight": {"data": [[3.0, 4.0]]}, "bias": {"data": [0.5]}}},
        },
    )
    assert r.json()["output"]["data"] == [11.5]
