"""POST /v1/layers/render and `include: images`: grids, tile values through matplotlib's maps."""

import base64
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from service.app import create_app
from service.images.rendering import PADDING
from tests.conftest import make_settings
from tests.image_files import decode_png

CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 6, "kernel_size": 5}
MNIST0 = {"mnist": {"split": "test", "index": 0}}


def render(client: TestClient, **body: Any) -> np.ndarray:
    r = client.post("/v1/layers/render", json=body)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    return decode_png(r.content)


def conv_run(backward: bool = False) -> tuple[torch.Tensor, torch.nn.Conv2d, torch.Tensor]:
    x = (
        torch.from_numpy(np.asarray(decode_png_digit()))
        .float()
        .div(255)
        .sub(0.5)
        .reshape(1, 1, 28, 28)
        .requires_grad_(True)
    )
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 6, 5)
    y = conv(x)
    if backward:
        y.sum().backward()
    return x, conv, y


def decode_png_digit() -> np.ndarray:
    from service.images import mnist

    return mnist.sample_set(None).splits["test"].images[0].numpy()


def tile(picture: np.ndarray, index: int, cols: int, h: int, w: int, scale: int) -> np.ndarray:
    """Tile `index` of a grid, back at scale 1."""
    r, c = divmod(index, cols)
    top = (PADDING + r * (h + PADDING)) * scale
    left = (PADDING + c * (w + PADDING)) * scale
    return picture[top : top + h * scale : scale, left : left + w * scale : scale]


def mpl(name: str, t: np.ndarray | float) -> np.ndarray:
    """matplotlib's colour for t, as it writes it into a saved image: uint8 RGB."""
    return np.asarray(matplotlib.colormaps[name](t, bytes=True))[..., :3]


def gray_levels(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """matplotlib's gray for min..max scaled to 0..1 (in float64, as the service scales)."""
    return mpl("gray", (v.astype(np.float64) - lo) / (hi - lo))[..., 0]


@pytest.mark.parametrize("scale", [1, 3])
def test_output_grid_size_and_gray_values(client: TestClient, scale: int) -> None:
    picture = render(client, layer=CONV, input=MNIST0, view="output", scale=scale)
    # 6 tiles of 24 x 24, 3 to a row (ceil(sqrt(6))), 2 rows, 1-pixel padding.
    assert picture.shape == ((2 * 25 + 1) * scale, (3 * 25 + 1) * scale)
    _, _, y = conv_run()
    v = y.detach().numpy()[0]
    lo, hi = float(v.min()), float(v.max())
    for i in range(6):
        np.testing.assert_array_equal(tile(picture, i, 3, 24, 24, scale), gray_levels(v[i], lo, hi))
    # Between tiles: the white padding; every pixel of a scaled block is the same.
    assert picture[:scale, :].min() == 255
    np.testing.assert_array_equal(
        picture[::scale, ::scale].repeat(scale, 0).repeat(scale, 1), picture
    )


def test_per_tile_normalization_uses_each_tiles_range(client: TestClient) -> None:
    picture = render(
        client, layer=CONV, input=MNIST0, view="output", normalize="per_tile", columns=6
    )
    assert picture.shape == (26, 6 * 25 + 1)
    _, _, y = conv_run()
    v = y.detach().numpy()[0]
    for i in range(6):
        got = tile(picture, i, 6, 24, 24, 1)
        np.testing.assert_array_equal(got, gray_levels(v[i], v[i].min(), v[i].max()))
        assert got.min() == 0 and got.max() == 255


def test_weights_one_tile_per_kernel_through_viridis(client: TestClient) -> None:
    picture = render(client, layer=CONV, input=MNIST0, view="weights", colormap="viridis", scale=2)
    assert picture.shape == ((2 * 6 + 1) * 2, (3 * 6 + 1) * 2, 3)
    _, conv, _ = conv_run()
    w = conv.weight.detach().numpy()[:, 0].astype(np.float64)
    t = (w - w.min()) / (w.max() - w.min())
    want = mpl("viridis", t)
    for i in range(6):
        np.testing.assert_array_equal(tile(picture, i, 3, 5, 5, 2), want[i])


def test_gradients_default_to_a_diverging_map_centred_on_zero(client: TestClient) -> None:
    picture = render(
        client, layer=CONV, input=MNIST0, view="input_grad", backward={"target": "sum"}
    )
    assert picture.shape == (28, 28, 3)  # one tile: no padding
    x, _, _ = conv_run(backward=True)
    g = x.grad.numpy()[0, 0].astype(np.float64)  # type: ignore[union-attr]
    want = mpl("coolwarm", 0.5 + g / (2 * np.abs(g).max()))
    np.testing.assert_array_equal(picture, want)


def test_diverging_map_sends_zero_to_its_middle_and_ends_to_its_ends(client: TestClient) -> None:
    data = [-2.0, 0.0, 1.0, 2.0]
    picture = render(
        client,
        layer={"type": "activation", "name": "relu"},
        input={"tensor": {"shape": [1, 4], "data": data}},
        view="input",
        colormap="seismic",
    )
    assert picture.shape == (1, 4, 3)
    # -2, 0, 1, 2 over max|v| = 2: t = 0, 0.5, 0.75, 1; 0.5 is seismic's near-white centre.
    np.testing.assert_array_equal(picture[0], mpl("seismic", np.array([0.0, 0.5, 0.75, 1.0])))
    assert tuple(picture[0, 1]) == (255, 253, 253)


@pytest.mark.parametrize("name", ["gray", "jet", "viridis", "coolwarm"])
def test_ends_map_to_first_and_last_colours(client: TestClient, name: str) -> None:
    # relu([3, -1, 5]) = [3, 0, 5]: sequential maps span 0..5 (t = 0.6, 0, 1); coolwarm spans
    # -5..5 (t = 0.8, 0.5, 1).
    picture = render(
        client,
        layer={"type": "activation", "name": "relu"},
        input={"tensor": {"data": [[3.0, -1.0, 5.0]]}},
        view="output",
        colormap=name,
    )
    want = mpl(name, np.array([0.8, 0.5, 1.0] if name == "coolwarm" else [0.6, 0.0, 1.0]))
    if name == "gray":
        assert picture.tolist() == [[153, 0, 255]] == [want[:, 0].tolist()]
        return
    np.testing.assert_array_equal(picture[0], want)


def test_views_that_do_not_exist_are_422(client: TestClient) -> None:
    r = client.post(
        "/v1/layers/render", json={"layer": CONV, "input": MNIST0, "view": "weight_grad"}
    )
    assert r.status_code == 422 and "backward" in r.json()["detail"]
    r = client.post(
        "/v1/layers/render", json={"layer": {"type": "flatten"}, "input": MNIST0, "view": "weights"}
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/no-weights"
    r = client.post("/v1/layers/render", json={"layer": CONV, "input": MNIST0, "scale": 99})
    assert r.status_code == 422


def test_too_many_pixels_is_413() -> None:
    c = TestClient(create_app(make_settings(max_render_pixels=10_000)))
    r = c.post("/v1/layers/render", json={"layer": CONV, "input": MNIST0, "scale": 4})
    assert r.status_code == 413 and r.json()["context"]["limit_pixels"] == 10_000


def test_include_images_carries_the_default_renderings(client: TestClient) -> None:
    body = {"layer": CONV, "input": MNIST0, "backward": {"target": "sum"}, "include": ["images"]}
    images = client.post("/v1/layers/inspect", json=body).json()["images"]
    assert set(images) == {"input", "output", "weights", "input_grad", "weight_grad"}
    for view, uri in images.items():
        assert uri.startswith("data:image/png;base64,")
        png = base64.b64decode(uri.removeprefix("data:image/png;base64,"))
        direct = render(client, **body | {"include": [], "view": view})
        np.testing.assert_array_equal(decode_png(png), direct)
    forward = client.post("/v1/layers/inspect", json=body | {"backward": None}).json()
    assert forward["images"]["input_grad"] is None and forward["images"]["weight_grad"] is None
    png = base64.b64decode(forward["images"]["output"].removeprefix("data:image/png;base64,"))
    direct = render(client, **body | {"backward": None, "include": [], "view": "output"})
    np.testing.assert_array_equal(decode_png(png), direct)


def test_conv1d_kernels_are_strips_one_to_a_row(client: TestClient) -> None:
    layer = {"type": "conv1d", "in_channels": 2, "out_channels": 3, "kernel_size": 5}
    picture = render(
        client, layer=layer, input={"shape": [1, 2, 9]}, weights={"seed": 4}, view="weights"
    )
    assert picture.shape == (6 * (1 + PADDING) + PADDING, 5 + 2 * PADDING)  # 6 strips of 1 x 5
    torch.manual_seed(4)
    w = torch.nn.Conv1d(2, 3, 5).weight.detach().numpy()
    want = gray_levels(w.reshape(6, 5), float(w.min()), float(w.max()))
    for k in range(6):
        np.testing.assert_array_equal(tile(picture, k, 1, 1, 5, 1)[0], want[k])


def test_conv3d_kernels_are_drawn_slice_by_slice(client: TestClient) -> None:
    """A 3-D kernel [out, in, d, h, w] is d tiles of h x w, one volume's slices to a row."""
    layer = {"type": "conv3d", "in_channels": 1, "out_channels": 2, "kernel_size": [3, 2, 2]}
    picture = render(
        client, layer=layer, input={"shape": [1, 1, 4, 4, 4]}, weights={"seed": 5}, view="weights"
    )
    assert picture.shape == (2 * (2 + PADDING) + PADDING, 3 * (2 + PADDING) + PADDING)
    torch.manual_seed(5)
    w = torch.nn.Conv3d(1, 2, (3, 2, 2)).weight.detach().numpy()
    lo, hi = float(w.min()), float(w.max())
    for out in range(2):
        for depth in range(3):
            want = gray_levels(w[out, 0, depth], lo, hi)
            np.testing.assert_array_equal(tile(picture, out * 3 + depth, 3, 2, 2, 1), want)


def test_empty_tensors_have_no_picture(client: TestClient) -> None:
    """A zero-size batch runs as in PyTorch; there is nothing to draw of its input or output."""
    body = {"layer": CONV, "input": {"shape": [0, 1, 28, 28]}, "include": ["images"]}
    got = client.post("/v1/layers/inspect", json=body).json()
    assert got["output"]["shape"] == [0, 6, 24, 24]
    assert got["images"]["input"] is None and got["images"]["output"] is None
    assert got["images"]["weights"].startswith("data:image/png;base64,")
    r = client.post("/v1/layers/render", json=body | {"include": [], "view": "output"})
    assert r.status_code == 422 and r.json()["type"] == "/problems/empty-tensor"
