"""POST /v1/layers/inspect/upload: images in every format, bad files as 4xx problem details."""

import io
import json
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image
from torchvision import tv_tensors
from torchvision.transforms import v2

from service.app import create_app
from tests.conftest import make_settings
from tests.image_files import digit, encode, png_declaring, seed_transform

SPEC = {"layer": {"type": "flatten"}, "include": ["input", "output"]}


def upload(
    client: TestClient,
    data: bytes,
    spec: dict[str, Any] | None = None,
    options: dict[str, Any] | None = None,
    name: str = "digit.png",
) -> Any:
    form = {"spec": json.dumps(spec or SPEC)}
    if options is not None:
        form["input"] = json.dumps(options)
    return client.post(
        "/v1/layers/inspect/upload",
        files={"image": (name, data, "application/octet-stream")},
        data=form,
    )


def input_of(body: dict[str, Any]) -> torch.Tensor:
    return torch.tensor(body["input"]["data"]).reshape(body["input"]["shape"])


def expected(index: int = 0) -> torch.Tensor:
    """What an upload of test digit `index` must give, bit for bit: the seed's ToTensor then
    Normalize(0.5, 1.0) of its pixels, as [1, 1, 28, 28] (what the mnist input gives)."""
    return seed_transform(digit(index)[0])[None]


def test_png_of_digit_7_gives_the_mnist_tensor(client: TestClient) -> None:
    pixels, label = digit(0)
    assert label == 7
    r = upload(client, encode(pixels, "PNG"))
    assert r.status_code == 200
    body = r.json()
    torch.testing.assert_close(input_of(body), expected(0), rtol=0, atol=0)
    assert body["preprocessing"]["source"]["format"] == "PNG"
    assert body["preprocessing"]["steps"][1]["params"]["applied"] is False


def test_served_png_round_trips_exactly(client: TestClient) -> None:
    png = client.get("/v1/mnist/test/42.png").content
    torch.testing.assert_close(input_of(upload(client, png).json()), expected(42), rtol=0, atol=0)


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [("BMP", {}), ("GIF", {}), ("WEBP", {"lossless": True}), ("PNG", {"bits": 8})],
)
def test_lossless_formats_give_the_same_tensor(
    client: TestClient, fmt: str, kwargs: dict[str, Any]
) -> None:
    pixels, _ = digit(0)
    got = input_of(upload(client, encode(pixels, fmt, **kwargs)).json())
    torch.testing.assert_close(got, expected(0), rtol=0, atol=0)


def test_gif_uses_its_first_frame(client: TestClient) -> None:
    pixels, _ = digit(0)
    other, _ = digit(1)
    frames = [Image.fromarray(pixels), Image.fromarray(other)]
    import io

    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:])
    body = upload(client, buffer.getvalue()).json()
    assert body["preprocessing"]["source"]["frames"] == 2
    torch.testing.assert_close(input_of(body), expected(0), rtol=0, atol=0)


def test_jpeg_is_close(client: TestClient) -> None:
    pixels, _ = digit(0)
    got = input_of(upload(client, encode(pixels, "JPEG", quality=95)).json())
    want = expected(0)
    assert float((got - want).abs().mean()) < 0.02
    assert float((got - want).abs().max()) < 0.25


def test_black_on_white_drawing_is_inverted_to_match_its_twin(client: TestClient) -> None:
    pixels, _ = digit(0)
    drawing = 255 - pixels
    body = upload(client, encode(drawing, "PNG"), options={"preprocess": {"invert": "auto"}}).json()
    assert body["preprocessing"]["steps"][1]["params"]["applied"] is True
    torch.testing.assert_close(input_of(body), expected(0), rtol=0, atol=0)
    kept = upload(client, encode(drawing, "PNG"), options={"preprocess": {"invert": False}})
    want = (torch.from_numpy(drawing).float() / 255 - 0.5).reshape(1, 1, 28, 28)
    torch.testing.assert_close(input_of(kept.json()), want)


def test_rgb_non_square_drawing_is_fitted_and_centred(client: TestClient) -> None:
    # A black-on-white RGB drawing 40 high, 80 wide: inverted, scaled to 14 x 28, centred.
    drawing = np.full((40, 80, 3), 255, np.uint8)
    drawing[10:30, 20:60] = 0
    twin = np.zeros((40, 80), np.uint8)
    twin[10:30, 20:60] = 255
    a = upload(client, encode(drawing, "PNG")).json()
    b = upload(client, encode(twin, "PNG")).json()
    # the twin, through torchvision directly: resize to 14 x 28, pad 7 rows above and below
    fitted = v2.Resize([14, 28], antialias=True)(tv_tensors.Image(torch.from_numpy(twin)[None]))
    padded = v2.Pad([0, 7, 0, 7], fill=0)(fitted).as_subclass(torch.Tensor)
    want = (padded.float() / 255 - 0.5)[None]
    torch.testing.assert_close(input_of(b), want, rtol=0, atol=1e-6)
    torch.testing.assert_close(input_of(a), input_of(b), rtol=0, atol=1 / 255)
    x = input_of(a)[0, 0]
    assert x.shape == (28, 28)
    assert torch.all(x[:7] == -0.5) and torch.all(x[21:] == -0.5)  # the zero padding
    steps = {s["name"]: s["params"] for s in a["preprocessing"]["steps"]}
    assert steps["resize"]["to"] == [14, 28]
    assert steps["center"]["padding_left_top_right_bottom"] == [0, 7, 0, 7]
    assert steps["grayscale"]["input_channels"] == 3


def test_transparent_drawing_is_composited_over_white(client: TestClient) -> None:
    pixels, _ = digit(0)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = pixels  # black ink, alpha = the digit
    got = input_of(upload(client, encode(rgba, "PNG")).json())
    torch.testing.assert_close(got, expected(0), rtol=0, atol=1.5 / 255)


def test_spec_and_options_are_validated(client: TestClient) -> None:
    pixels, _ = digit(0)
    png = encode(pixels, "PNG")
    r = upload(client, png, spec={**SPEC, "input": {"shape": [1]}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "spec.input"
    r = upload(client, png, spec={"layer": {"type": "conv2d"}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body.spec.layer")
    r = upload(client, png, options={"preprocess": {"std": 0}})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.input.preprocess.std"
    r = client.post(
        "/v1/layers/inspect/upload", files={"image": ("a.png", png)}, data={"spec": "{oops"}
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "spec"


def test_layer_misfit_on_upload_is_422(client: TestClient) -> None:
    pixels, _ = digit(0)
    spec = {"layer": {"type": "linear", "in_features": 10, "out_features": 2}}
    r = upload(client, encode(pixels, "PNG"), spec=spec)
    assert r.status_code == 422 and "in_features=28" in r.json()["detail"]


def test_not_an_image_is_415(client: TestClient) -> None:
    r = upload(client, b"this is not an image, just some text" * 3)
    assert r.status_code == 415
    assert r.headers["content-type"] == "application/problem+json"
    assert "PNG, JPEG, BMP, GIF or WebP" in r.json()["detail"]


def test_unsupported_format_is_415(client: TestClient) -> None:
    pixels, _ = digit(0)
    r = upload(client, encode(pixels, "TIFF"))
    assert r.status_code == 415
    assert r.json()["type"] == "/problems/unsupported-image"
    assert r.json()["context"] == {"formats": ["PNG", "JPEG", "BMP", "GIF", "WEBP"]}


def test_truncated_image_is_422(client: TestClient) -> None:
    pixels, _ = digit(0)
    png = encode(np.tile(pixels, (8, 8)), "PNG")
    r = upload(client, png[: len(png) // 2])
    assert r.status_code == 422 and r.json()["type"] == "/problems/corrupt-image"
    jpeg = encode(np.tile(pixels, (8, 8)), "JPEG")
    r = upload(client, jpeg[: len(jpeg) // 2])
    assert r.status_code == 422 and r.json()["type"] == "/problems/corrupt-image"
    assert r.json()["errors"][0]["field"] == "image"
    assert r.json()["detail"].startswith("the JPEG file could not be decoded")


def test_empty_file_is_422(client: TestClient) -> None:
    r = upload(client, b"")
    assert r.status_code == 422 and r.json()["type"] == "/problems/empty-upload"


def test_too_many_bytes_is_413() -> None:
    c = TestClient(create_app(make_settings(max_upload_bytes=1000)))
    r = upload(c, b"\x89PNG" + b"\0" * 2000)
    assert r.status_code == 413 and "1,000 bytes" in r.json()["detail"]
    pixels, _ = digit(0)
    ok = upload(c, encode(pixels, "PNG"))
    assert ok.status_code == 200
    torch.testing.assert_close(input_of(ok.json()), expected(0), rtol=0, atol=0)


def test_decompression_bomb_is_413_before_decoding() -> None:
    c = TestClient(create_app(make_settings(max_image_pixels=10_000)))
    bomb = png_declaring(5000, 4000)  # 20M pixels declared, under Pillow's own limit
    assert len(bomb) < 200
    r = upload(c, bomb)
    assert r.status_code == 413
    assert r.json()["context"] == {"width": 5000, "height": 4000, "limit_pixels": 10_000}


def test_huge_bomb_refused_by_pillow_is_413(client: TestClient) -> None:
    r = upload(client, png_declaring(100_000, 100_000))
    assert r.status_code == 413 and r.json()["type"] == "/problems/image-too-large"


def test_exif_orientation_is_applied(client: TestClient) -> None:
    pixels, _ = digit(0)
    upright = upload(client, encode(pixels, "PNG")).json()
    # stored turned a quarter turn, with EXIF saying so (Orientation 6: rotate 90° clockwise
    # to view), as a phone camera writes it
    stored = Image.fromarray(np.rot90(pixels, k=1).copy())
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    stored.save(buffer, format="WEBP", lossless=True, exif=exif)
    turned = upload(client, buffer.getvalue(), name="photo.webp").json()
    assert turned["preprocessing"]["source"]["exif_orientation"] == 6
    torch.testing.assert_close(input_of(turned), input_of(upright), atol=0, rtol=0)
    torch.testing.assert_close(input_of(upright), expected(0), atol=0, rtol=0)


def test_several_files_make_one_batch_in_order(client: TestClient) -> None:
    # three digits, the middle one as a black-on-white BMP twice the size: each file
    # is preprocessed on its own (inverted, resized), then collated in the order sent
    first, _ = digit(3)
    middle, _ = digit(1)
    last, _ = digit(0)
    big = np.kron(255 - middle, np.ones((2, 2), np.uint8))
    files = [
        ("image", ("a.png", encode(first, "PNG"), "image/png")),
        ("image", ("b.bmp", encode(big, "BMP"), "image/bmp")),
        ("image", ("c.png", encode(last, "PNG"), "image/png")),
    ]
    r = client.post("/v1/layers/inspect/upload", files=files, data={"spec": json.dumps(SPEC)})
    assert r.status_code == 200, r.text
    body = r.json()
    got = input_of(body)
    assert got.shape == (3, 1, 28, 28)
    torch.testing.assert_close(got[0:1], expected(3), rtol=0, atol=0)
    torch.testing.assert_close(got[2:3], expected(0), rtol=0, atol=0)
    # the middle one through torchvision directly: invert, Resize 56 -> 28, ToTensor, Normalize
    resized = v2.Resize([28, 28], antialias=True)(
        tv_tensors.Image(torch.from_numpy(255 - big)[None])
    )
    want = seed_transform(resized.as_subclass(torch.Tensor))
    torch.testing.assert_close(got[1], want, rtol=0, atol=0)
    echo = body["preprocessing"]
    assert echo["source"] == {"kind": "upload", "files": 3}
    assert [s["source"]["format"] for s in echo["samples"]] == ["PNG", "BMP", "PNG"]
    assert [s["steps"][1]["params"]["applied"] for s in echo["samples"]] == [False, True, False]
    assert echo["samples"][1]["steps"][2]["params"] == {
        "from": [56, 56],
        "to": [28, 28],
        "antialias": True,
    }
    assert "labels" not in body


def test_a_bad_file_in_a_batch_is_named_by_its_place(client: TestClient) -> None:
    pixels, _ = digit(0)
    files = [
        ("image", ("a.png", encode(pixels, "PNG"), "image/png")),
        ("image", ("b.txt", b"not an image", "text/plain")),
    ]
    r = client.post("/v1/layers/inspect/upload", files=files, data={"spec": json.dumps(SPEC)})
    assert r.status_code == 415
    assert r.json()["errors"][0]["field"] == "image.1"
