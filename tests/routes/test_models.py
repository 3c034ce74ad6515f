"""service/routes/models.py: upload inspect, per-layer render, summary formats, examples."""

import base64
import json
from pathlib import Path

import matplotlib
import numpy as np
import torch
from fastapi.testclient import TestClient
from safetensors.torch import save

from schemas.examples import SEED_PIPELINE
from service.app import create_app
from tests.conftest import make_settings
from tests.image_files import (
    SEED_TRANSFORM,
    decode_png,
    digit,
    encode,
    seed_transform,
    torchvision_mnist,
)
from tests.inspection.test_summary import torchinfo_lines

LAYERS = [
    {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 5},
    {"type": "activation", "name": "relu"},
    {"type": "flatten"},
]
MNIST0 = {"mnist": {"split": "test", "index": 0}}
MNIST_DIR = Path(__file__).resolve().parents[2] / "service" / "images" / "data" / "mnist"


def direct() -> tuple[torch.Tensor, torch.nn.Sequential]:
    from service.images import mnist

    pixels = mnist.sample_set(None).splits["test"].images[0]
    x = (pixels.float() / 255 - 0.5).reshape(1, 1, 28, 28).requires_grad_(True)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 5), torch.nn.ReLU(), torch.nn.Flatten())
    return x, model


def test_model_upload_equals_mnist_input(client: TestClient) -> None:
    pixels, _ = digit(0)
    spec = {"layers": LAYERS, "include": ["input", "output", "images"]}
    up = client.post(
        "/v1/models/inspect/upload",
        files={"image": ("d.png", encode(pixels, "PNG"))},
        data={"spec": json.dumps(spec)},
    )
    assert up.status_code == 200, up.text
    body = up.json()
    x, model = direct()
    # the upload's input is the digit as the seed's ToTensor + Normalize(0.5, 1) make it
    want = seed_transform(pixels)
    torch.testing.assert_close(torch.tensor(body["input"]["data"]).reshape(1, 28, 28), want)
    torch.testing.assert_close(x.detach()[0], want)
    assert body["preprocessing"]["source"]["format"] == "PNG"
    png = base64.b64decode(body["images"]["input"].removeprefix("data:image/png;base64,"))
    unit = ((want[0] - want.min()) / (want.max() - want.min())).double().numpy()
    gray = matplotlib.colormaps["gray"](unit, bytes=True)
    np.testing.assert_array_equal(decode_png(png), gray[..., 0])
    with torch.no_grad():
        y = model(x)
    torch.testing.assert_close(torch.tensor(body["layers"][-1]["output"]["data"]), y[0])


def test_model_render_of_a_layers_output_and_input_grad(client: TestClient) -> None:
    body = {"layers": LAYERS, "input": MNIST0, "layer": 1, "view": "output"}
    r = client.post("/v1/models/render", json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    picture = decode_png(r.content)
    assert picture.shape == (2 * 25 + 1, 2 * 25 + 1)  # 4 tiles of 24x24, 2 to a row
    x, model = direct()
    y = model[1](model[0](x))
    v = y.detach().numpy()[0].astype(np.float64)
    gray = matplotlib.colormaps["gray"]((v[0] - v.min()) / (v.max() - v.min()), bytes=True)
    np.testing.assert_array_equal(picture[1:25, 1:25], gray[..., 0])
    # input_grad of layer 1 = gradient of the target with respect to layer 0's output.
    r = client.post(
        "/v1/models/render",
        json=body | {"view": "input_grad", "backward": {"target": "sum"}, "columns": 4},
    )
    picture = decode_png(r.content)
    h = model[0](x)
    h.retain_grad()
    model[2](model[1](h)).sum().backward()
    g = h.grad.numpy()[0].astype(np.float64)
    t = 0.5 + g / (2 * np.abs(g).max())
    want = matplotlib.colormaps["coolwarm"](t[0], bytes=True)[..., :3]
    np.testing.assert_array_equal(picture[1:25, 1:25], want)


def test_model_render_weights_and_bad_layer(client: TestClient) -> None:
    r = client.post(
        "/v1/models/render",
        json={"layers": LAYERS, "input": MNIST0, "layer": 0, "view": "weights", "scale": 2},
    )
    picture = decode_png(r.content)
    assert picture.shape == ((2 * 6 + 1) * 2, (2 * 6 + 1) * 2)  # 4 kernels of 5x5, scale 2
    _, model = direct()
    w = model[0].weight.detach().numpy().astype(np.float64)
    unit = (w - w.min()) / (w.max() - w.min())
    for k in range(4):
        row, col = divmod(k, 2)
        tile = picture[2 * (1 + 6 * row) : 2 * (6 + 6 * row), 2 * (1 + 6 * col) : 2 * (6 + 6 * col)]
        gray = matplotlib.colormaps["gray"](unit[k, 0], bytes=True)[..., 0]
        np.testing.assert_array_equal(tile, gray.repeat(2, axis=0).repeat(2, axis=1))
    r = client.post("/v1/models/render", json={"layers": LAYERS, "input": MNIST0, "layer": 3})
    assert r.status_code == 422 and "0..2" in r.json()["detail"]
    r = client.post(
        "/v1/models/render",
        json={"layers": LAYERS, "input": MNIST0, "layer": 1, "view": "weights"},
    )
    assert r.status_code == 422 and r.json()["type"] == "/problems/no-weights"


def test_examples_are_documented(client: TestClient) -> None:
    from schemas.examples import MODEL_EXAMPLES, SUMMARY_EXAMPLES

    paths = client.get("/openapi.json").json()["paths"]
    for path, examples in (
        ("/v1/models/inspect", MODEL_EXAMPLES),
        ("/v1/models/summary", SUMMARY_EXAMPLES),
    ):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]
        assert body["examples"] == examples
    assert "text/plain" in paths["/v1/models/summary"]["post"]["responses"]["200"]["content"]


def test_summary_format_by_query_or_accept(client: TestClient) -> None:
    body = {"layers": LAYERS, "input_shape": [1, 1, 28, 28]}
    as_json = client.post("/v1/models/summary", json=body)
    assert as_json.headers["content-type"] == "application/json"
    table = as_json.json()
    theirs = torchinfo_lines(LAYERS, [1, 1, 28, 28])
    by_query = client.post("/v1/models/summary?format=text", json=body)
    by_accept = client.post("/v1/models/summary", json=body, headers={"accept": "text/plain"})
    assert by_query.text == by_accept.text
    for r in (by_query, by_accept):
        assert r.headers["content-type"].startswith("text/plain")
        assert "Total params: 104" in r.text.splitlines() and "Total params: 104" in theirs
    forced = client.post(
        "/v1/models/summary?format=json", json=body, headers={"accept": "text/plain"}
    )
    assert forced.json() == table
    assert table["layers"][0]["output_shape"] == [1, 4, 24, 24]
    assert table["summary"]["parameter_count"] == 4 * 25 + 4


def seed_model(seed: int) -> torch.nn.Sequential:
    """The seed's network from torch.nn (Conv2d(1, 20, 5, 1), ReLU, MaxPool2d(2, 2), Flatten,
    Linear(2880, 10), Softmax(dim=1)), with weights of its own."""
    torch.manual_seed(seed)
    nn = torch.nn
    model = nn.Sequential(
        nn.Conv2d(1, 20, 5, 1),
        nn.ReLU(),
        nn.MaxPool2d(2, 2),
        nn.Flatten(),
        nn.Linear(2880, 10),
        nn.Softmax(dim=1),
    )
    with torch.no_grad():
        model[4].weight.mul_(8)  # sharper probabilities than the default init gives
    return model.eval()


def test_the_seed_digit_through_uploaded_safetensors_weights(
    client: TestClient, tmp_path: Path
) -> None:
    """MNIST test digit 0 as torchvision's datasets.MNIST gives it (the seed's ToTensor and
    Normalize(0.5, 1)), through the seed network with weights saved by safetensors in the
    test: the service's probabilities equal the direct run's, from the spec's MNIST input and
    from the digit uploaded as an image file alongside the weights."""

    model = seed_model(31)
    weights = save(model.state_dict())
    dataset = torchvision_mnist(tmp_path, MNIST_DIR, transform=SEED_TRANSFORM)
    x, label = dataset[0]
    with torch.no_grad():
        want = model(x[None])
    spec = {"layers": SEED_PIPELINE, "include": ["output"]}
    by_index = client.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps(spec | {"input": MNIST0})},
        files={"weights": ("seed.safetensors", weights)},
    )
    pixels, _ = digit(0)
    by_image = client.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps(spec)},
        files=[
            ("image", ("d.png", encode(pixels, "PNG"), "image/png")),
            ("weights", ("seed.safetensors", weights, "application/octet-stream")),
        ],
    )
    for r in (by_index, by_image):
        assert r.status_code == 200, r.text
        body = r.json()
        probabilities = torch.tensor(body["layers"][-1]["output"]["data"]).reshape(1, 10)
        torch.testing.assert_close(probabilities, want)
        assert body["seeds"]["weights"] is None
    labels = by_index.json()["labels"]
    assert labels["targets"] == [label]
    assert labels["predicted"] == want.argmax(1).tolist()
    assert by_image.json()["preprocessing"]["source"]["format"] == "PNG"


def test_weights_in_spec_and_as_a_file_is_422(client: TestClient) -> None:
    r = client.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps({"layers": LAYERS, "input": MNIST0, "weights": {"seed": 1}})},
        files={"weights": ("w.safetensors", save(seed_model(0).state_dict()))},
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "/problems/weights-twice"
    assert [e["field"] for e in problem["errors"]] == ["spec.weights"]
    # `"weights": null` is the schema's own default: a full dump of a request, not weights twice
    model = seed_model(3)
    r = client.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps({"layers": SEED_PIPELINE, "input": MNIST0, "weights": None})},
        files={"weights": ("w.safetensors", save(model.state_dict()))},
    )
    assert r.status_code == 200, r.text
    weight = torch.tensor(r.json()["layers"][0]["parameters"]["0.weight"]["data"])
    torch.testing.assert_close(weight, model[0].weight.detach().reshape(-1))


LIMITS = {"max_body_bytes": 2048, "max_weights_bytes": 4096}


def linear_weights(out_features: int) -> bytes:
    """A safetensors file of nn.Sequential(nn.Linear(4, out_features))'s state_dict."""
    torch.manual_seed(0)
    return save(torch.nn.Sequential(torch.nn.Linear(4, out_features)).state_dict())


def test_the_weights_forms_take_bodies_up_to_the_weights_limit_on_top() -> None:
    """With a body limit of 2048 bytes and a weights limit of 4096: a 3.7 kB weights file goes
    through the upload form (its body under 2048 + 4096), whose output is the direct run's; a
    file over 4096 bytes is a 413 naming the weights limit, one that makes the body larger than
    both together a 413 before the form is read; the JSON routes keep the 2048 bytes."""
    spec = {"layers": [{"type": "linear", "in_features": 4, "out_features": 180}]}
    spec |= {"input": {"shape": [1, 4], "seed": 1}, "include": ["output"]}
    app = create_app(make_settings(**LIMITS))
    with TestClient(app) as c:
        app.state.runtime.ready.wait(timeout=60)
        fits = linear_weights(180)
        assert 2048 < len(fits) <= 4096
        r = c.post(
            "/v1/models/inspect/upload",
            data={"spec": json.dumps(spec)},
            files={"weights": ("w.safetensors", fits)},
        )
        assert r.status_code == 200, r.text
        torch.manual_seed(0)
        layer = torch.nn.Linear(4, 180)
        x = torch.randn(1, 4, generator=torch.Generator().manual_seed(1))
        got = torch.tensor(r.json()["layers"][0]["output"]["data"]).reshape(1, 180)
        torch.testing.assert_close(got, layer(x).detach())

        over = linear_weights(230)  # over 4096 bytes, the body under 2048 + 4096
        assert 4096 < len(over) < 2048 + 4096 - 1024
        r = c.post(
            "/v1/models/inspect/upload",
            data={"spec": json.dumps(spec)},
            files={"weights": ("w.safetensors", over)},
        )
        assert r.status_code == 413
        problem = r.json()
        assert [e["field"] for e in problem["errors"]] == ["weights"]
        assert "LAYERSCOPE_MAX_WEIGHTS_BYTES" in problem["detail"]
        assert "4,096" in problem["detail"]

        r = c.post(
            "/v1/models/inspect/upload",
            data={"spec": json.dumps(spec)},
            files={"weights": ("w.safetensors", linear_weights(400))},
        )
        assert r.status_code == 413
        assert r.json()["type"] == "/problems/body-too-large"
        assert r.json()["context"]["limit"] == 2048 + 4096
        setting = "LAYERSCOPE_MAX_BODY_BYTES + LAYERSCOPE_MAX_WEIGHTS_BYTES"
        assert r.json()["context"]["setting"] == setting

        json_body = {**spec, "input": {"tensor": {"shape": [1, 4], "data": [0.5] * 4}}}
        json_body["pad"] = "x" * 2100
        r = c.post("/v1/models/inspect", json=json_body)
        assert r.status_code == 413
        assert r.json()["context"]["limit"] == 2048
        r = c.post(
            "/v1/models/inspect/upload",
            data={"spec": json.dumps(spec)},
            files={"weights": ("w.safetensors", b"")},
        )
        assert r.status_code == 422
        assert "safetensors" in r.json()["detail"] and "image" not in r.json()["detail"]
