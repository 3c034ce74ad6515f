"""The explain routes' worked examples (schemas/explain_examples.py) answer as they say."""

from typing import Any

from fastapi.testclient import TestClient

from schemas.explain_examples import ATTRIBUTE_EXAMPLES, RECEPTIVE_FIELD_EXAMPLES, SWEEP_EXAMPLES


def post(client: TestClient, path: str, example: dict[str, Any]) -> dict[str, Any]:
    response = client.post(path, json=example["value"])
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_receptive_field_examples(client: TestClient) -> None:
    path = "/v1/models/receptive-field"
    unit = post(client, path, RECEPTIVE_FIELD_EXAMPLES["seed_pipeline_unit"])
    assert unit["window"] == {"start": [10, 14], "end": [15, 19]}  # 6 x 6, as the summary says
    assert unit["image"].startswith("data:image/png;base64,")
    resnet = post(client, path, RECEPTIVE_FIELD_EXAMPLES["resnet18_unit"])
    assert resnet["receptive_field"]["size"] == [99, 99]
    assert resnet["receptive_field"]["jump"] == [8, 8]
    box = post(client, path, RECEPTIVE_FIELD_EXAMPLES["vgg11_box"])
    # features.10's units: 30 x 30 windows, 8 apart, unit i's from -11 + 8 i to 18 + 8 i: those
    # that meet 100..120 run from ceil((100 - 18) / 8) = 11 to floor((120 + 11) / 8) = 16
    assert box["receptive_field"] == {"size": [30, 30], "jump": [8, 8], "start": [3.5, 3.5]}
    assert box["units"] == {"start": [11, 11], "end": [16, 16]}
    assert box["unit_count"] == 36


def test_attribute_examples(client: TestClient) -> None:
    for name, example in ATTRIBUTE_EXAMPLES.items():
        body = post(client, "/v1/models/attribute", example)
        assert body["method"] == example["value"]["method"], name
        assert body["heatmap"].startswith("data:image/png;base64,"), name


def test_sweep_examples(client: TestClient) -> None:
    statuses = {
        name: [r["status"] for r in post(client, "/v1/layers/sweep", example)["results"]]
        for name, example in SWEEP_EXAMPLES.items()
    }
    assert statuses == {
        "conv_kernel_size": [200, 200, 200, 200, 422],
        "maxpool_stride": [200, 200, 200, 422],
        "activation_name": [200, 200, 200, 200],
    }
