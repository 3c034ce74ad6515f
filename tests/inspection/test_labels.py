"""service/inspection/labels.py: the labels of an MNIST input beside the output, and the seed's
pipeline run on a batch of 8 compared with the same network run directly."""

from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from schemas.examples import SEED_PIPELINE
from service.images import mnist
from service.inspection.labels import label_report
from tests.helpers import tensor_from
from tests.image_files import SEED_TRANSFORM, seed_batch, seed_transform, torchvision_mnist


def test_argmax_per_sample_of_an_n_by_10_output() -> None:
    scores = torch.zeros(3, 10)
    scores[0, 7], scores[1, 2], scores[2, 9] = 1.0, 0.5, 3.0
    assert label_report([7, 2, 1], scores) == {
        "targets": [7, 2, 1],
        "predicted": [7, 2, 9],
        "correct": 2,
    }


@pytest.mark.parametrize(
    "shape",
    [(3, 784), (3, 9), (2, 10), (3, 10, 1), (30,)],
)
def test_no_prediction_unless_one_row_of_10_scores_per_target(shape: tuple[int, ...]) -> None:
    assert label_report([7, 2, 1], torch.ones(shape)) == {
        "targets": [7, 2, 1],
        "predicted": None,
        "correct": None,
    }


def test_no_labels_without_targets() -> None:
    assert label_report(None, torch.zeros(1, 10)) is None


def seed_network() -> nn.Sequential:
    """The seed's network, from torch.nn, as `"weights": {"seed": 0}` builds it."""
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 20, 5, 1),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(2880, 10),
        nn.Softmax(dim=1),
    )


def test_seed_pipeline_on_a_batch_of_8(client: TestClient, tmp_path: Path) -> None:
    body = client.post(
        "/v1/models/inspect",
        json={
            "layers": SEED_PIPELINE,
            "input": {"mnist": {"split": "test", "batch_size": 8, "shuffle": True, "seed": 0}},
            "weights": {"seed": 0},
            "include": ["input", "output"],
            "encoding": "base64",
        },
    ).json()
    dataset = torchvision_mnist(tmp_path, mnist.EMBEDDED_DIR, transform=SEED_TRANSFORM)
    images, labels = seed_batch(dataset, 8, True, 0, 0, False)
    assert images.shape == (8, 1, 28, 28)
    assert torch.equal(tensor_from(body["input"]), images)
    model = seed_network().eval()
    with torch.no_grad():
        direct = model(images)
    out = tensor_from(body["layers"][-1]["output"])
    assert out.shape == (8, 10)
    torch.testing.assert_close(out, direct)
    # per sample: each row is the network run on that digit alone
    for i in range(8):
        with torch.no_grad():
            alone = model(images[i : i + 1])
        torch.testing.assert_close(out[i : i + 1], alone)
    predicted = direct.argmax(dim=1)
    assert body["labels"] == {
        "targets": labels.tolist(),
        "predicted": predicted.tolist(),
        "correct": int((predicted == labels).sum()),
    }


def test_a_single_digit_through_a_linear_classifier(client: TestClient) -> None:
    body = client.post(
        "/v1/models/inspect",
        json={
            "layers": [
                {"type": "flatten"},
                {"type": "linear", "in_features": 784, "out_features": 10},
            ],
            "input": {"mnist": {"index": 0}},
            "weights": {"seed": 3},
            "include": [],
        },
    ).json()
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    x = seed_transform(mnist.sample_set(None).splits["test"].images[0])[None]
    with torch.no_grad():
        guess = int(model(x).argmax(dim=1))
    assert body["labels"] == {"targets": [7], "predicted": [guess], "correct": int(guess == 7)}


def test_inputs_without_labels_have_none(client: TestClient) -> None:
    body = client.post(
        "/v1/layers/inspect",
        json={
            "layer": {"type": "linear", "in_features": 4, "out_features": 10},
            "input": {"shape": [2, 4]},
        },
    ).json()
    assert "labels" not in body
