"""POST /v1/layers/sweep: each value's result is what POST /v1/layers/inspect answers for the
layer with that value (its output's shape, stats and values), its picture what POST
/v1/layers/render draws, and a value that does not fit gets the very problem details inspect
answers, beside the others; the strip lays the pictures side by side."""

import base64
import io
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from service.app import create_app
from tests.conftest import make_settings
from tests.image_files import decode_png

SEVEN = {"mnist": {"split": "test", "index": 0}}
CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3}

SWEEPS: list[tuple[dict[str, Any], str, list[Any]]] = [
    (CONV, "kernel_size", [1, 3, [3, 5], 29, 0]),
    (CONV, "stride", [1, 2, [2, 3], "two"]),
    (CONV | {"padding": 1}, "padding", [0, 1, [2, 0], "same", 14]),
    (CONV, "dilation", [1, 2, 13, 14]),
    (CONV | {"in_channels": 1, "out_channels": 4}, "groups", [1, 2, 4]),
    ({"type": "maxpool2d", "kernel_size": 2}, "stride", [None, 1, 3, 0]),
    ({"type": "activation", "name": "leaky_relu", "negative_slope": 0.2}, "name",
     ["leaky_relu", "relu", "gelu"]),
    ({"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3}, "type",
     ["conv2d", "maxpool2d"]),
]  # fmt: skip


def png_of(uri: str) -> bytes:
    return base64.b64decode(uri.split(",", 1)[1])


def without_timing(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "timing_ms"}


@pytest.mark.parametrize(("layer", "argument", "values"), SWEEPS)
def test_each_value_is_what_inspect_and_render_answer(
    client: TestClient, layer: dict[str, Any], argument: str, values: list[Any]
) -> None:
    common = {"input": SEVEN, "include": ["output"], "backward": {"target": "sum"}}
    response = client.post(
        "/v1/layers/sweep",
        json=common | {"layer": layer, "argument": argument, "values": values, "scale": 2},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["argument"] == argument
    assert [r["value"] for r in body["results"]] == values
    statuses = set()
    for value, result in zip(values, body["results"], strict=True):
        one = common | {"layer": layer | {argument: value}}
        inspect = client.post("/v1/layers/inspect", json=one)
        assert result["status"] == inspect.status_code, (value, inspect.text)
        statuses.add(inspect.status_code)
        if inspect.status_code == 200:
            assert without_timing(result["result"]) == without_timing(inspect.json())
            render = client.post("/v1/layers/render", json=one | {"scale": 2})
            assert render.status_code == 200
            assert png_of(result["image"]) == render.content
            assert result["problem"] is None
        else:
            problem = inspect.json()
            assert result["result"] is None and result["image"] is None
            assert result["problem"] == problem | {"instance": None}
    assert 200 in statuses


def test_strip_lays_the_pictures_side_by_side(client: TestClient) -> None:
    values = [1, 29, 3, 7]
    body = client.post(
        "/v1/layers/sweep",
        json={"layer": CONV, "input": SEVEN, "argument": "kernel_size", "values": values},
    ).json()
    strip = decode_png(png_of(body["strip"]))
    pictures = [
        None if r["image"] is None else np.asarray(Image.open(io.BytesIO(png_of(r["image"]))))
        for r in body["results"]
    ]
    assert pictures[1] is None  # a 29 x 29 kernel does not fit 28 x 28
    height = max(p.shape[0] for p in pictures if p is not None)
    assert strip.shape[0] == height
    left = 0
    for picture in pictures:
        if picture is None:
            assert (strip[:, left : left + 8] == 224).all()
            left += 8 + 4
            continue
        h, w = picture.shape[:2]
        rgb = np.repeat(picture[..., None], 3, axis=2) if picture.ndim == 2 else picture
        assert (strip[:h, left : left + w] == rgb).all()
        assert (strip[h:, left : left + w] == 255).all()
        left += w + 4
    assert strip.shape[1] == left - 4


def test_an_argument_no_layer_has_is_a_422(client: TestClient) -> None:
    response = client.post(
        "/v1/layers/sweep",
        json={"layer": CONV, "input": SEVEN, "argument": "kernel", "values": [1]},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "body.argument"
    assert "kernel_size" in problem["detail"]


@pytest.mark.parametrize("value", [2**53, -(2**64), [3, 2**70]])
def test_an_integer_json_cannot_hold_is_a_422_naming_it(client: TestClient, value: Any) -> None:
    """Every value is echoed in the answer: one beyond 2**53 - 1 is refused before it runs
    (found by the fuzz: orjson cannot write an integer beyond 64 bits)."""
    response = client.post(
        "/v1/layers/sweep",
        json={"layer": CONV, "input": SEVEN, "argument": "kernel_size", "values": [1, value]},
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == "body.values"
    assert "values[1]" in problem["detail"]


def test_the_whole_sweep_is_sized_before_it_runs() -> None:
    """Each value's response fits 200,000 bytes; eight together do not."""
    body = {
        "layer": CONV,
        "input": SEVEN,
        "argument": "kernel_size",
        "values": [1, 2, 3, 4, 5, 6, 7, 8],
    }
    with TestClient(create_app(make_settings(max_response_bytes=200_000))) as small:
        one = small.post(
            "/v1/layers/inspect", json={"layer": CONV, "input": SEVEN, "include": ["output"]}
        )
        assert one.status_code == 200
        response = small.post("/v1/layers/sweep", json=body)
        assert response.status_code == 413
        assert response.json()["type"] == "/problems/response-too-large"
        assert small.post("/v1/layers/sweep", json=body | {"values": [3]}).status_code == 200
