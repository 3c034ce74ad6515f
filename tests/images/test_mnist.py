"""The MNIST sample set: embedded slice, LAYERSCOPE_MNIST_DIR, GET /v1/mnist routes, mnist input."""

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torchvision import tv_tensors
from torchvision.transforms import v2

from service.app import create_app
from service.images import mnist
from tests.conftest import make_settings
from tests.image_files import HAVE_SHARED, SHARED_MNIST, decode_png, reference, seed_transform

needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason="../shared/mnist is not here")


def test_embedded_slice_is_the_first_100_test_digits() -> None:
    samples = mnist.sample_set(None)
    assert samples.source == "embedded"
    test = samples.splits["test"]
    assert test.images.shape == (100, 28, 28) and test.images.dtype == torch.uint8
    assert test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_embedded_files_stay_small() -> None:
    total = sum(p.stat().st_size for p in mnist.EMBEDDED_DIR.glob("*.gz"))
    assert total < 100_000


@needs_shared
def test_embedded_slice_equals_the_full_split() -> None:
    full = mnist.load(SHARED_MNIST.resolve()).splits["test"]
    part = mnist.sample_set(None).splits["test"]
    assert full.images.shape == (10_000, 28, 28)
    assert torch.equal(part.images, full.images[:100])
    assert torch.equal(part.labels, full.labels[:100])


def test_info_lists_splits_source_and_credit(client: TestClient) -> None:
    body = client.get("/v1/mnist").json()
    assert body["splits"] == [{"name": "test", "size": 100, "image_shape": [28, 28]}]
    assert body["source"] == "embedded"
    assert "LeCun" in body["credit"] and "Cortes" in body["credit"] and "Burges" in body["credit"]
    assert body["license"].startswith("CC BY-SA 3.0")


@needs_shared
def test_mnist_dir_setting_serves_the_full_split() -> None:
    c = TestClient(create_app(make_settings(mnist_dir=SHARED_MNIST.resolve())))
    body = c.get("/v1/mnist").json()
    assert body["splits"] == [{"name": "test", "size": 10_000, "image_shape": [28, 28]}]
    last = c.get("/v1/mnist/test/9999").json()
    full = mnist.load(SHARED_MNIST.resolve()).splits["test"]
    assert last["label"] == int(full.labels[9999])
    r = c.get("/v1/mnist/test/10000")
    assert r.status_code == 404 and "0..9999" in r.json()["detail"]


def test_sample_label_tensor_and_steps(client: TestClient) -> None:
    pixels = mnist.sample_set(None).splits["test"].images[1].numpy()
    body = client.get("/v1/mnist/test/1").json()
    assert body["label"] == 2
    assert body["tensor"]["shape"] == [1, 1, 28, 28]
    got = torch.tensor(body["tensor"]["data"]).reshape(1, 1, 28, 28)
    torch.testing.assert_close(got, reference(pixels))
    names = [s["name"] for s in body["preprocessing"]["steps"]]
    assert names == ["grayscale", "invert", "resize", "center", "to_float", "normalize"]
    assert body["preprocessing"]["steps"][1]["params"]["applied"] is False
    assert body["preprocessing"]["source"] == {
        "kind": "mnist",
        "split": "test",
        "index": 1,
        "label": 2,
    }


def test_sample_png_is_the_raw_digit(client: TestClient) -> None:
    r = client.get("/v1/mnist/test/3.png")
    assert r.headers["content-type"] == "image/png"
    expected = mnist.sample_set(None).splits["test"].images[3].numpy()
    np.testing.assert_array_equal(decode_png(r.content), expected)
    big = decode_png(client.get("/v1/mnist/test/3.png?scale=3").content)
    np.testing.assert_array_equal(big[::3, ::3], expected)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/v1/mnist/test/100", "0..99"),
        ("/v1/mnist/test/-1", "0..99"),
        ("/v1/mnist/test/100.png", "0..99"),
        ("/v1/mnist/train/0", "splits are: test"),
        ("/v1/mnist/nope/0.png", "splits are: test"),
    ],
)
def test_missing_digits_are_404_naming_what_there_is(
    client: TestClient, path: str, needle: str
) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert needle in r.json()["detail"]


CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}


def test_mnist_input_runs_the_layer_on_the_digit(client: TestClient) -> None:
    pixels = mnist.sample_set(None).splits["test"].images[0].numpy()
    body = client.post(
        "/v1/layers/inspect",
        json={"layer": CONV, "input": {"mnist": {"split": "test", "index": 0}}},
    ).json()
    x = reference(pixels)
    torch.testing.assert_close(torch.tensor(body["input"]["data"]).reshape(x.shape), x)
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 2, 3)
    with torch.no_grad():
        y = conv(x)
    torch.testing.assert_close(torch.tensor(body["output"]["data"]).reshape(y.shape), y)
    assert body["seeds"]["input"] is None
    assert body["preprocessing"]["source"]["label"] == 7
    assert "images" not in body


def test_mnist_input_with_own_normalize_and_size(client: TestClient) -> None:
    pixels = mnist.sample_set(None).splits["test"].images[5].numpy()
    body = client.post(
        "/v1/layers/inspect",
        json={
            "layer": {"type": "flatten"},
            "input": {
                "mnist": {"index": 5},
                "preprocess": {"mean": 0.1307, "std": 0.3081},
                "requires_grad": False,
            },
        },
    ).json()
    got = torch.tensor(body["input"]["data"]).reshape(1, 1, 28, 28)
    torch.testing.assert_close(got, reference(pixels, 0.1307, 0.3081))
    small = client.post(
        "/v1/layers/inspect",
        json={
            "layer": {"type": "flatten"},
            "input": {"mnist": {"index": 5}, "preprocess": {"size": 14}},
        },
    ).json()
    assert small["input"]["shape"] == [1, 1, 14, 14]
    # the digit through torchvision directly: Resize to 14 x 14, then ToTensor, Normalize
    resized = v2.Resize([14, 14], antialias=True)(tv_tensors.Image(torch.from_numpy(pixels)[None]))
    x = seed_transform(resized.as_subclass(torch.Tensor))
    got = torch.tensor(small["input"]["data"]).reshape(1, 1, 14, 14)
    torch.testing.assert_close(got, x[None], rtol=0, atol=0)


def test_mnist_input_out_of_range_is_422(client: TestClient) -> None:
    r = client.post("/v1/layers/inspect", json={"layer": CONV, "input": {"mnist": {"index": 1000}}})
    assert r.status_code == 422
    assert "0..99" in r.json()["detail"]
    assert r.json()["errors"][0]["field"] == "body.input.mnist.index"
