"""schemas/images.py: preprocessing and rendering options, their bounds, and what their defaults
do in the service."""

import json
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import ValidationError
from torchvision import tv_tensors
from torchvision.transforms import v2

from schemas.images import (
    MAX_IMAGE_SIDE,
    MAX_RENDER_SCALE,
    MIN_STD,
    ImageInputOptions,
    PreprocessOptions,
    RenderOptions,
)
from tests.helpers import tensor_from
from tests.image_files import decode_png, digit, encode, seed_transform


def kinds(cls: Any, raw: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as info:
        cls.model_validate(raw)
    return [(tuple(e["loc"]), e["type"]) for e in info.value.errors()]


def upload(client: TestClient, pixels: np.ndarray) -> dict[str, Any]:
    """Upload a PNG of `pixels` with no `input` field (every ImageInputOptions default)."""
    spec = {"layer": {"type": "flatten"}, "backward": {"target": "sum"}}
    r = client.post(
        "/v1/layers/inspect/upload",
        files={"image": ("x.png", encode(pixels, "PNG"), "image/png")},
        data={"spec": json.dumps(spec)},
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def torchvision_input(pixels: np.ndarray, size: int = 28) -> torch.Tensor:
    """Resize (when needed), then the seed's ToTensor and Normalize(0.5, 1.0), with torchvision
    directly."""
    x = tv_tensors.Image(torch.from_numpy(pixels)[None])
    if x.shape[-2:] != (size, size):
        x = v2.Resize([size, size], antialias=True)(x)
    return seed_transform(x.as_subclass(torch.Tensor))[None]


def test_image_input_defaults_are_what_the_service_does(client: TestClient) -> None:
    pixels, _ = digit(0)  # white on black, a dark border
    body = upload(client, pixels)
    # size 28, mean 0.5, std 1.0: torchvision's own transforms give the same tensor
    torch.testing.assert_close(
        tensor_from(body["input"]), torchvision_input(pixels), rtol=0, atol=0
    )
    # requires_grad true: the backward pass reaches the input (d sum / d x = 1)
    torch.testing.assert_close(tensor_from(body["input"]["grad"]), torch.ones(1, 1, 28, 28))
    # invert auto: the same digit drawn black on white gives the same tensor
    inverted = upload(client, 255 - pixels)
    torch.testing.assert_close(tensor_from(inverted["input"]), torchvision_input(pixels))
    # size 28: a 14 x 14 image is resized up to 28 x 28
    small = np.ascontiguousarray(pixels[::2, ::2])
    torch.testing.assert_close(
        tensor_from(upload(client, small)["input"]), torchvision_input(small)
    )


def test_render_defaults_are_what_the_service_does(client: TestClient) -> None:
    # relu of two 1 x 2 channels: [[0, 2]] and [[3, 5]]
    data = [[[[-1.0, 2.0]], [[3.0, 5.0]]]]
    r = client.post(
        "/v1/layers/render",
        json={"layer": {"type": "activation", "name": "relu"}, "input": {"tensor": {"data": data}}},
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    # view output (not the input's -1), gray (one channel), one range 0..5 for both tiles (not
    # per tile), scale 1, columns ceil(sqrt(2)) = 2, white padding of 1 pixel around the tiles
    levels = np.rint(255 * np.array([0.0, 2.0, 3.0, 5.0]) / 5)  # 0, 102, 153, 255
    white = 255
    row = [white, levels[0], levels[1], white, levels[2], levels[3], white]
    expected = np.array([[white] * 7, row, [white] * 7])
    np.testing.assert_array_equal(decode_png(r.content), expected)


def test_preprocess_bounds() -> None:
    assert PreprocessOptions(size=MAX_IMAGE_SIDE).size == 512
    assert PreprocessOptions(size=[1, 512]).size == [1, 512]
    assert kinds(PreprocessOptions, {"std": 0})[0] == (("std",), "greater_than_equal")
    assert kinds(PreprocessOptions, {"std": 5e-324})[0] == (("std",), "greater_than_equal")
    assert PreprocessOptions(std=MIN_STD).std == 1e-6
    assert kinds(PreprocessOptions, {"mean": 2e6})[0] == (("mean",), "less_than_equal")
    # `size` is an int or a pair: pydantic reports a try of each (located by member labels).
    found = kinds(PreprocessOptions, {"size": 513})
    assert ("size", "less_than_equal") in {(loc[0], kind) for loc, kind in found}
    found = kinds(PreprocessOptions, {"size": [28, 28, 28]})
    assert ("size", "too_long") in {(loc[0], kind) for loc, kind in found}
    found = kinds(PreprocessOptions, {"invert": "sometimes"})
    assert {loc[0] for loc, _ in found} == {"invert"}


def test_render_bounds() -> None:
    assert RenderOptions(scale=MAX_RENDER_SCALE).scale == 32
    assert kinds(RenderOptions, {"scale": 33}) == [(("scale",), "less_than_equal")]
    assert kinds(RenderOptions, {"columns": 0}) == [(("columns",), "greater_than_equal")]
    assert kinds(RenderOptions, {"view": "bias"}) == [(("view",), "literal_error")]
    assert kinds(RenderOptions, {"colormap": "hot"}) == [(("colormap",), "literal_error")]
    assert kinds(ImageInputOptions, {"preprocess": {"foo": 1}}) == [
        (("preprocess", "foo"), "extra_forbidden")
    ]
