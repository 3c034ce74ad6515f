"""The batch picture (service/images/batch_grid.py, GET /v1/mnist/{split}/batch.png) and the
batch as JSON (GET /v1/mnist/{split}/batch): the digits and labels a DataLoader run here
directly yields, pixel for pixel, each under a title band with drawn text."""

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from service.app import create_app
from service.errors import ProblemError
from service.images import mnist
from service.images.batch_grid import (
    BACKGROUND,
    GAP,
    TITLE_PAD,
    GridLayout,
    draw_batch,
    font_size,
    grid_layout,
)
from tests.conftest import make_settings
from tests.helpers import tensor_from
from tests.image_files import (
    HAVE_SHARED,
    SEED_TRANSFORM,
    SHARED_MNIST,
    decode_png,
    seed_batch,
    torchvision_mnist,
)


@pytest.fixture(scope="module")
def raw_set(tmp_path_factory: pytest.TempPathFactory) -> datasets.MNIST:
    """torchvision's MNIST over the files the picture route reads, as uint8 [1, 28, 28]."""
    root = tmp_path_factory.mktemp("raw")
    source = SHARED_MNIST.resolve() if HAVE_SHARED else mnist.EMBEDDED_DIR
    return torchvision_mnist(root, source, transform=transforms.PILToTensor())


@pytest.fixture(scope="module")
def data_client() -> Iterator[TestClient]:
    """A service reading the same files as `raw_set`."""
    folder = SHARED_MNIST.resolve() if HAVE_SHARED else None
    with TestClient(create_app(make_settings(mnist_dir=folder))) as c:
        yield c


def positions(size: int, batch_size: int, shuffle: bool, seed: int, batch: int) -> list[int]:
    """The positions the seed's DataLoader takes: the same DataLoader over range(size)."""
    loader = DataLoader(
        range(size),  # type: ignore[arg-type]
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
    )
    found: list[int] = list(loader)[batch].tolist()
    return found


def drawn_title(text: str, width: int, height: int, scale: int) -> np.ndarray:
    """A title band as Pillow draws the text in its built-in font, centred, black on white."""
    band = Image.new("L", (width, height), BACKGROUND)
    font = ImageFont.load_default(size=font_size(scale))
    ImageDraw.Draw(band).text((width // 2, TITLE_PAD), text, fill=0, font=font, anchor="ma")
    return np.asarray(band)


def check_picture(
    picture: np.ndarray,
    digits: torch.Tensor,
    labels: list[int],
    indices: list[int],
    columns: int,
    scale: int,
) -> GridLayout:
    titles = [f"{label} (#{index})" for label, index in zip(labels, indices, strict=True)]
    layout = grid_layout(len(titles), columns, scale, (28, 28), titles)
    width, height = layout.size
    assert picture.shape == (height, width)
    covered = np.zeros(picture.shape, bool)
    for i, digit in enumerate(digits):
        left, top, right, bottom = layout.digit_box(i)
        big = np.kron(digit.reshape(28, 28).numpy(), np.ones((scale, scale), np.uint8))
        np.testing.assert_array_equal(picture[top:bottom, left:right], big)
        left, top, right, bottom = layout.band_box(i)
        band = picture[top:bottom, left:right]
        assert (band != BACKGROUND).sum() > 20, f"title band {i} is empty"
        expected = drawn_title(titles[i], right - left, bottom - top, scale)
        np.testing.assert_array_equal(band, expected, err_msg=f"title {i}: {titles[i]!r}")
        covered[top:bottom, left:right] = True
        left, top, right, bottom = layout.digit_box(i)
        covered[top:bottom, left:right] = True
    # nothing else is drawn: gaps and margins are background
    assert (picture[~covered] == BACKGROUND).all()
    return layout


def test_the_seeds_figure_2_by_4(data_client: TestClient, raw_set: datasets.MNIST) -> None:
    r = data_client.get("/v1/mnist/test/batch.png?batch_size=8&shuffle=true&seed=0&columns=4")
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    picture = decode_png(r.content)
    digits, labels = seed_batch(raw_set, 8, True, 0, 0, False)
    indices = positions(len(raw_set), 8, True, 0, 0)
    assert all(torch.equal(raw_set[i][0], d) for i, d in zip(indices, digits, strict=True))
    layout = check_picture(picture, digits, labels.tolist(), indices, 4, 3)
    assert (layout.rows, layout.columns) == (2, 4)
    assert layout.digit_width == 84  # three times the digit's size


def test_other_batch_scale_and_columns(data_client: TestClient, raw_set: datasets.MNIST) -> None:
    r = data_client.get(
        "/v1/mnist/test/batch.png?batch_size=5&shuffle=true&seed=3&batch=2&columns=2&scale=2"
    )
    digits, labels = seed_batch(raw_set, 5, True, 3, 2, False)
    indices = positions(len(raw_set), 5, True, 3, 2)
    layout = check_picture(decode_png(r.content), digits, labels.tolist(), indices, 2, 2)
    assert (layout.rows, layout.columns) == (3, 2)
    # an unshuffled batch is the digits in order
    r = data_client.get("/v1/mnist/test/batch.png?batch_size=3&batch=1&columns=3&scale=1")
    digits = torch.stack([raw_set[i][0] for i in (3, 4, 5)])
    labels_in_order = [int(raw_set[i][1]) for i in (3, 4, 5)]
    check_picture(decode_png(r.content), digits, labels_in_order, [3, 4, 5], 3, 1)


def test_layout_widens_cells_for_long_titles() -> None:
    titles = ["0 (#9999)"] * 3
    layout = grid_layout(3, 4, 1, (28, 28), titles)
    font = ImageFont.load_default(size=font_size(1))
    assert layout.columns == 3  # no more columns than digits
    assert layout.digit_width == 28
    assert layout.cell_width == max(28, int(np.ceil(font.getlength(titles[0]))) + 2 * TITLE_PAD)
    assert layout.size[0] == 3 * (layout.cell_width + GAP) + GAP


def test_too_many_pixels_is_413_before_drawing() -> None:
    digits = torch.zeros(2, 28, 28, dtype=torch.uint8)
    with pytest.raises(ProblemError) as info:
        draw_batch(digits, [1, 2], [0, 1], columns=2, scale=32, max_pixels=100_000)
    assert info.value.status == 413
    assert info.value.context is not None and info.value.context["limit_pixels"] == 100_000


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/v1/mnist/nope/batch.png", 404, "path.split"),
        ("/v1/mnist/test/batch.png?batch_size=8&batch=13", 422, "query.batch"),
        ("/v1/mnist/test/batch?batch_size=8&batch=13", 422, "query.batch"),
        ("/v1/mnist/test/batch.png?batch_size=300", 413, "query.batch_size"),
        ("/v1/mnist/test/batch.png?scale=33", 422, "query.scale"),
        ("/v1/mnist/test/batch.png?columns=0", 422, "query.columns"),
    ],
)
def test_batch_route_problems_name_the_parameter(
    client: TestClient, path: str, status: int, field: str
) -> None:
    r = client.get(path)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["errors"][0]["field"] == field


def test_picture_over_the_pixel_limit_is_413() -> None:
    c = TestClient(create_app(make_settings(max_render_pixels=50_000)))
    r = c.get("/v1/mnist/test/batch.png?batch_size=8&scale=4")
    assert r.status_code == 413 and r.json()["type"] == "/problems/render-too-large"


def test_batch_json_is_the_dataloaders(client: TestClient, tmp_path: Path) -> None:
    body = client.get("/v1/mnist/test/batch?batch_size=8&shuffle=true&seed=0&batch=1").json()
    dataset = torchvision_mnist(tmp_path, mnist.EMBEDDED_DIR, transform=SEED_TRANSFORM)
    images, labels = seed_batch(dataset, 8, True, 0, 1, False)
    assert body["indices"] == positions(100, 8, True, 0, 1)
    assert body["labels"] == labels.tolist()
    assert torch.equal(tensor_from(body["tensor"]), images)
    assert body["batches"] == 13
    assert (body["batch_size"], body["shuffle"], body["seed"], body["batch"]) == (8, True, 0, 1)
    assert body["drop_last"] is False
