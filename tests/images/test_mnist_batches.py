"""MNIST batches (service/images/mnist_batches.py, the `{"mnist": {...}}` batch input): every
batch equals, exactly, what torchvision's own `datasets.MNIST` reading the same files, with the
seed's transforms, and a `DataLoader` with that generator yield, run here directly."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient
from torch.utils.data import DataLoader
from torchvision import datasets, transforms

from service.app import create_app
from service.images import mnist
from service.images.mnist_batches import LoaderArgs, batch_count, loader_positions
from service.inspection import upload_forms
from tests.conftest import make_settings
from tests.helpers import tensor_from
from tests.image_files import (
    HAVE_SHARED,
    SEED_TRANSFORM,
    SHARED_MNIST,
    encode,
    seed_batch,
    seed_transform,
    torchvision_mnist,
)

needs_shared = pytest.mark.skipif(not HAVE_SHARED, reason="../shared/mnist is not here")


@pytest.fixture(scope="module")
def embedded_set(tmp_path_factory: pytest.TempPathFactory) -> datasets.MNIST:
    """torchvision's MNIST over the embedded files (100 test digits), the seed's transforms."""
    root = tmp_path_factory.mktemp("embedded")
    return torchvision_mnist(root, mnist.EMBEDDED_DIR, transform=SEED_TRANSFORM)


@pytest.fixture(scope="module")
def full_set(tmp_path_factory: pytest.TempPathFactory) -> datasets.MNIST:
    """torchvision's MNIST over ../shared/mnist (10,000 test digits), the seed's transforms."""
    if not HAVE_SHARED:
        pytest.skip("../shared/mnist is not here")
    root = tmp_path_factory.mktemp("full")
    return torchvision_mnist(root, SHARED_MNIST.resolve(), transform=SEED_TRANSFORM)


@pytest.fixture(scope="module")
def full_client() -> Iterator[TestClient]:
    """A service that reads ../shared/mnist, with room for batches of up to 4096."""
    settings = make_settings(mnist_dir=SHARED_MNIST.resolve(), max_batch_size=4096)
    with TestClient(create_app(settings)) as c:
        yield c


def inspect_input(client: TestClient, ref: dict[str, Any], **extra: Any) -> Any:
    """Run a flatten layer on `{"mnist": ref}` and return the body (input values in base64)."""
    r = client.post(
        "/v1/layers/inspect",
        json={
            "layer": {"type": "flatten"},
            "input": {"mnist": ref, **extra},
            "include": ["input"],
            "encoding": "base64",
        },
    )
    assert r.status_code == 200, r.text
    return r.json()


def check_batch(
    client: TestClient, dataset: Any, size: int, combo: tuple[int, bool, int, int, bool]
) -> None:
    batch_size, shuffle, seed, batch, drop_last = combo
    ref = {
        "split": "test",
        "batch_size": batch_size,
        "shuffle": shuffle,
        "seed": seed,
        "batch": batch,
        "drop_last": drop_last,
    }
    body = inspect_input(client, ref)
    images, labels = seed_batch(dataset, *combo)
    got = tensor_from(body["input"])
    assert got.shape == images.shape
    assert torch.equal(got, images)
    assert body["labels"] == {"targets": labels.tolist(), "predicted": None, "correct": None}
    source = body["preprocessing"]["source"]
    assert source["labels"] == labels.tolist()
    expected_batches = len(DataLoader(dataset, batch_size=batch_size, drop_last=drop_last))
    assert source["batches"] == expected_batches
    assert len(dataset) == size
    # each sample's own echo names its position; the digit there is the batch's sample
    for sample, image in zip(body["preprocessing"]["samples"], images, strict=True):
        assert torch.equal(dataset[sample["source"]["index"]][0], image)


FULL_COMBOS = [
    (8, True, 0, 0, False),
    (8, True, 1234, 5, False),
    (8, False, 0, 3, False),
    (64, True, 7, 156, False),  # the last, short batch: 10,000 = 156 * 64 + 16
    (64, True, 7, 155, True),  # with drop_last, batch 155 is the last
    (3000, True, 2, 3, False),  # 1,000 left over
    (1, True, 99, 9999, False),
]


@needs_shared
@pytest.mark.parametrize("combo", FULL_COMBOS)
def test_full_split_batches_equal_the_seeds_dataloader(
    full_client: TestClient, full_set: datasets.MNIST, combo: tuple[int, bool, int, int, bool]
) -> None:
    check_batch(full_client, full_set, 10_000, combo)


@pytest.mark.parametrize(
    "combo",
    [
        (8, True, 0, 0, False),
        (8, True, 0, 12, False),
        (7, True, 3, 2, True),
        (100, False, 0, 0, True),
    ],
)
def test_embedded_batches_equal_the_seeds_dataloader(
    client: TestClient, embedded_set: datasets.MNIST, combo: tuple[int, bool, int, int, bool]
) -> None:
    check_batch(client, embedded_set, 100, combo)


def test_positions_are_the_dataloaders_over_the_split() -> None:
    # The DataLoader draws its base seed from the generator before the sampler draws the
    # permutation: a RandomSampler alone with the same seed gives other batches.
    args = LoaderArgs(batch_size=3, shuffle=True, seed=0, batch=1)
    direct = list(
        DataLoader(
            range(10), batch_size=3, shuffle=True, generator=torch.Generator().manual_seed(0)
        )
    )
    assert loader_positions("test", 10, args, "x") == direct[1].tolist()
    sampler = torch.utils.data.RandomSampler(range(10), generator=torch.Generator().manual_seed(0))
    assert list(sampler)[3:6] != direct[1].tolist()
    assert batch_count(10, args) == 4
    assert batch_count(10, LoaderArgs(batch_size=3, drop_last=True)) == 3


def test_indices_take_the_listed_digits_in_order(
    client: TestClient, embedded_set: datasets.MNIST
) -> None:
    body = inspect_input(client, {"indices": [3, 1, 4, 1]})
    want = torch.stack([embedded_set[i][0] for i in (3, 1, 4, 1)])
    assert torch.equal(tensor_from(body["input"]), want)
    assert body["labels"]["targets"] == [int(embedded_set[i][1]) for i in (3, 1, 4, 1)]
    source = body["preprocessing"]["source"]
    assert source == {
        "kind": "mnist",
        "split": "test",
        "indices": [3, 1, 4, 1],
        "labels": body["labels"]["targets"],
    }
    assert body["preprocessing"]["steps"] == [
        {
            "name": "collate",
            "transform": "default_collate",
            "params": {"samples": 4, "shape": [4, 1, 28, 28]},
        }
    ]
    names = [step["transform"] for step in body["preprocessing"]["samples"][2]["steps"]]
    assert names == [None, None, None, None, "ToTensor", "Normalize"]


def test_batch_with_own_mean_and_std(client: TestClient, tmp_path: Path) -> None:
    body = inspect_input(
        client,
        {"batch_size": 5, "shuffle": True, "seed": 9},
        preprocess={"mean": 0.1307, "std": 0.3081},
    )
    own = transforms.Compose(
        [transforms.ToTensor(), transforms.Normalize(mean=(0.1307,), std=(0.3081,))]
    )
    dataset = torchvision_mnist(tmp_path, mnist.EMBEDDED_DIR, transform=own)
    images, labels = seed_batch(dataset, 5, True, 9, 0, False)
    assert torch.equal(tensor_from(body["input"]), images)
    assert body["labels"]["targets"] == labels.tolist()


def test_single_index_still_works_and_has_its_label(client: TestClient) -> None:
    body = inspect_input(client, {"index": 0})
    pixels = mnist.sample_set(None).splits["test"].images[0]
    assert torch.equal(tensor_from(body["input"]), seed_transform(pixels)[None])
    assert body["labels"] == {"targets": [7], "predicted": None, "correct": None}
    assert "samples" not in body["preprocessing"]


@pytest.mark.parametrize(
    ("ref", "field", "slug", "words"),
    [
        ({"indices": [0, 100]}, "body.input.mnist.indices.1", "mnist-index-out-of-range", "0..99"),
        (
            {"batch_size": 8, "batch": 13},
            "body.input.mnist.batch",
            "mnist-batch-out-of-range",
            "yields 13 batches: batch 13 is outside 0..12",
        ),
        (
            {"batch_size": 8, "batch": 12, "drop_last": True},
            "body.input.mnist.batch",
            "mnist-batch-out-of-range",
            "yields 12 batches",
        ),
        (
            {"batch_size": 101, "drop_last": True},
            "body.input.mnist.batch",
            "mnist-batch-out-of-range",
            "yields 0 batches",
        ),
        (
            {"split": "train", "indices": [0]},
            "body.input.mnist.split",
            "unknown-mnist-split",
            "test",
        ),
    ],
)
def test_missing_digits_or_batches_are_422_naming_the_field(
    client: TestClient, ref: dict[str, Any], field: str, slug: str, words: str
) -> None:
    r = client.post(
        "/v1/layers/inspect", json={"layer": {"type": "flatten"}, "input": {"mnist": ref}}
    )
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["type"] == "/problems/" + slug
    assert problem["errors"][0]["field"] == field
    assert words in problem["detail"]


def test_batch_limits_are_checked_before_any_digit_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unread(*args: Any) -> Any:
        raise AssertionError("a digit was read before the limits were checked")

    monkeypatch.setattr(mnist, "split_of", unread)
    c = TestClient(create_app(make_settings(max_batch_size=16, max_tensor_elements=8 * 784)))
    r = c.post(
        "/v1/layers/inspect",
        json={"layer": {"type": "flatten"}, "input": {"mnist": {"batch_size": 17}}},
    )
    assert r.status_code == 413 and r.json()["type"] == "/problems/batch-too-large"
    assert r.json()["errors"][0]["field"] == "body.input.mnist.batch_size"
    assert r.json()["context"] == {"samples": 17, "limit": 16}
    r = c.post(
        "/v1/layers/inspect",
        json={"layer": {"type": "flatten"}, "input": {"mnist": {"indices": list(range(9))}}},
    )
    assert r.status_code == 413 and r.json()["type"] == "/problems/too-many-elements"
    assert r.json()["context"]["shape"] == [9, 1, 28, 28]
    assert r.json()["errors"][0]["field"] == "body.input.mnist.indices"


def test_uploaded_files_over_the_batch_limit_are_refused_before_reading(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unread(*args: Any) -> Any:
        raise AssertionError("a file was read before the batch size was checked")

    monkeypatch.setattr(upload_forms, "read_limited", unread)
    c = TestClient(create_app(make_settings(max_batch_size=2)))
    png = encode(np.zeros((28, 28), np.uint8), "PNG")
    r = c.post(
        "/v1/layers/inspect/upload",
        files=[("image", (f"{i}.png", png, "image/png")) for i in range(3)],
        data={"spec": '{"layer": {"type": "flatten"}}'},
    )
    assert r.status_code == 413 and r.json()["type"] == "/problems/batch-too-large"
    assert r.json()["errors"][0]["field"] == "image"


def test_a_training_split_in_the_folder_is_served_too(tmp_path: Path) -> None:
    # the embedded test files under the training split's names: served as `train`, read by
    # torchvision's own reader as datasets.MNIST(train=True) reads them
    for name in ("images-idx3-ubyte.gz", "labels-idx1-ubyte.gz"):
        data = (mnist.EMBEDDED_DIR / f"t10k-{name}").read_bytes()
        (tmp_path / "data" / f"train-{name}").parent.mkdir(exist_ok=True)
        (tmp_path / "data" / f"train-{name}").write_bytes(data)
    c = TestClient(create_app(make_settings(mnist_dir=tmp_path / "data")))
    splits = c.get("/v1/mnist").json()["splits"]
    assert splits == [{"name": "train", "size": 100, "image_shape": [28, 28]}]
    train = torchvision_mnist(
        tmp_path / "tv", tmp_path / "data", train=True, transform=SEED_TRANSFORM
    )
    body = inspect_input(
        c, {"split": "train", "batch_size": 4, "shuffle": True, "seed": 5, "batch": 2}
    )
    images, labels = seed_batch(train, 4, True, 5, 2, False)
    assert torch.equal(tensor_from(body["input"]), images)
    assert body["labels"]["targets"] == labels.tolist()
