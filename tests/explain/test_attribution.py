"""POST /v1/models/attribute: every method's attribution equals Captum run directly here, on the
same model (built from torch.nn / torchvision with the same seed), input and arguments: the seed
pipeline on the digit 7 and resnet18 at a small input; the heat map is matplotlib's diverging
colours of the channel-summed attribution over the input; sizes are refused before anything
runs."""

import base64
import json
from collections.abc import Iterator
from typing import Any

import matplotlib
import numpy as np
import pytest
import torch
from captum import attr
from fastapi.testclient import TestClient
from torch import nn
from torch.testing import assert_close

from schemas.examples import SEED_PIPELINE
from service.app import create_app
from tests.conftest import make_settings
from tests.direct import sequential
from tests.helpers import tensor_from
from tests.image_files import decode_png, digit, encode, reference
from tests.torchvision_direct import build

SEVEN = {"mnist": {"split": "test", "index": 0}}
SEED = {"layers": SEED_PIPELINE, "input": SEVEN, "weights": {"seed": 0}}
RESNET_INPUT = [2, 3, 32, 32]
RESNET = {
    "model": {"torchvision": "resnet18", "kwargs": {"num_classes": 10}},
    "input": {"shape": RESNET_INPUT, "seed": 0},
    "weights": {"seed": 0},
}


def seed_model() -> nn.Module:
    torch.manual_seed(0)
    return sequential(SEED_PIPELINE).eval()


def seven() -> torch.Tensor:
    pixels, label = digit(0)
    assert label == 7
    return reference(pixels)


def resnet() -> nn.Module:
    return build("resnet18", {"num_classes": 10}, 0).eval()


def resnet_input() -> torch.Tensor:
    return torch.randn(RESNET_INPUT, generator=torch.Generator().manual_seed(0))


def direct(
    method: str, model: nn.Module, x: torch.Tensor, options: dict[str, Any]
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Captum's own class on the model, as a notebook would call it."""
    options = {
        k: tuple(v) if isinstance(v, list) and k != "target" else v for k, v in options.items()
    }
    layer = options.pop("layer", None)
    if method not in ("occlusion", "layer_activation"):
        x = x.detach().requires_grad_(True)  # Captum sets it (and warns)
    if method == "saliency":
        return attr.Saliency(model).attribute(x, **options), None
    if method == "input_x_gradient":
        return attr.InputXGradient(model).attribute(x, **options), None
    if method == "integrated_gradients":
        result, delta = attr.IntegratedGradients(model).attribute(
            x, return_convergence_delta=True, **options
        )
        return result, delta
    if method == "occlusion":
        return attr.Occlusion(model).attribute(x, **options), None
    module = model.get_submodule(str(layer))
    if method == "layer_gradcam":
        return attr.LayerGradCam(model, module).attribute(x, **options), None
    return attr.LayerActivation(model, module).attribute(x, **options), None


SEED_CASES: list[tuple[str, dict[str, Any]]] = [
    ("saliency", {"target": 7}),
    ("saliency", {"target": 7, "abs": False}),
    ("input_x_gradient", {"target": 7}),
    ("integrated_gradients", {"target": 7, "n_steps": 20, "baselines": 0.0}),
    ("integrated_gradients", {"target": 3, "n_steps": 16, "internal_batch_size": 5}),
    ("occlusion", {"target": 7, "sliding_window_shapes": [1, 4, 4], "strides": [1, 3, 3],
                   "baselines": 0.1, "perturbations_per_eval": 4}),
    ("layer_gradcam", {"target": 7, "layer": "0"}),
    ("layer_gradcam", {"target": 7, "layer": "2", "relu_attributions": True}),
    ("layer_activation", {"layer": "2"}),
    ("layer_activation", {"layer": "4", "attribute_to_layer_input": True}),
]  # fmt: skip

RESNET_CASES: list[tuple[str, dict[str, Any]]] = [
    ("saliency", {"target": [3, 5]}),
    ("input_x_gradient", {"target": 3}),
    ("integrated_gradients", {"target": [1, 2], "n_steps": 6, "internal_batch_size": 4}),
    ("occlusion", {"target": 4, "sliding_window_shapes": [3, 8, 8], "strides": [3, 8, 8]}),
    ("layer_gradcam", {"target": 3, "layer": "layer4"}),
    ("layer_activation", {"layer": "layer3.1.conv2"}),
]


def post(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/models/attribute", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def check(
    body: dict[str, Any], method: str, want: torch.Tensor, delta: torch.Tensor | None
) -> None:
    assert body["method"] == method
    got = tensor_from(body["attribution"])
    assert got.shape == want.shape
    assert_close(got, want.detach())
    if delta is None:
        assert body["convergence_delta"] is None
    else:
        assert_close(tensor_from(body["convergence_delta"]), delta.detach())


@pytest.mark.parametrize(("method", "options"), SEED_CASES)
def test_seed_pipeline_on_the_digit_seven_equals_captum(
    client: TestClient, method: str, options: dict[str, Any]
) -> None:
    body = post(client, SEED | {"method": method} | options)
    want, delta = direct(method, seed_model(), seven(), dict(options))
    check(body, method, want, delta)
    model_out = seed_model()(seven())
    assert_close(tensor_from(body["output"]), model_out.detach())
    assert body["labels"]["targets"] == [7]


@pytest.mark.parametrize(("method", "options"), RESNET_CASES)
def test_resnet18_equals_captum(client: TestClient, method: str, options: dict[str, Any]) -> None:
    body = post(client, RESNET | {"method": method, "encoding": "base64"} | options)
    want, delta = direct(method, resnet(), resnet_input(), dict(options))
    check(body, method, want, delta)


def test_gradcam_at_layer4_is_layer_grad_cam(client: TestClient) -> None:
    body = post(client, RESNET | {"method": "layer_gradcam", "layer": "layer4", "target": 7})
    model = resnet()
    want = attr.LayerGradCam(model, model.layer4).attribute(resnet_input(), target=7)
    assert body["captum"] == "LayerGradCam"
    assert body["arguments"] == {"target": 7, "layer": "layer4"}
    assert tensor_from(body["attribution"]).shape == (2, 1, 1, 1)
    assert_close(tensor_from(body["attribution"]), want)


def test_a_wrong_target_is_not_captums(client: TestClient) -> None:
    """The comparison can fail: class 6's attribution is not class 7's."""
    body = post(client, SEED | {"method": "saliency", "target": 6})
    want, _ = direct("saliency", seed_model(), seven(), {"target": 7})
    assert not torch.allclose(tensor_from(body["attribution"]), want)


def tiles(png: bytes, count: int, height: int, width: int) -> Iterator[np.ndarray]:
    """The tiles of a make_grid grid (1-pixel padding) of `count` tiles."""
    image = decode_png(png)
    columns = int(np.ceil(np.sqrt(count)))
    for i in range(count):
        row, col = divmod(i, columns)
        top, left = 1 + row * (height + 1), 1 + col * (width + 1)
        if count == 1:
            top = left = 0
        yield image[top : top + height, left : left + width]


def data(uri: str) -> bytes:
    return base64.b64decode(uri.split(",", 1)[1])


@pytest.mark.parametrize("colormap", ["coolwarm", "seismic"])
def test_heatmap_is_matplotlibs_colours_centred_on_zero(client: TestClient, colormap: str) -> None:
    body = post(
        client,
        RESNET
        | {"method": "integrated_gradients", "target": 3, "n_steps": 4, "alpha": 1.0,
           "colormap": colormap},
    )  # fmt: skip
    summed = tensor_from(body["attribution"]).to(torch.float64).sum(dim=1).numpy()
    reference_map = matplotlib.colormaps[colormap]
    for tile, values in zip(tiles(data(body["heatmap"]), 2, 32, 32), summed, strict=True):
        t = 0.5 + values / (2 * np.abs(values).max())
        assert (tile == reference_map(t, bytes=True)[..., :3]).all()


def test_heatmap_without_colour_is_the_input_in_gray(client: TestClient) -> None:
    body = post(client, SEED | {"method": "saliency", "target": 7, "alpha": 0.0, "scale": 2})
    x = seven()[0, 0].to(torch.float64)
    gray = np.rint(((x - x.min()) / (x.max() - x.min())).numpy() * 255.0).astype(np.uint8)
    image = decode_png(data(body["heatmap"]))
    assert image.shape == (56, 56, 3)
    expected = np.repeat(np.repeat(gray, 2, axis=0), 2, axis=1)
    assert (image == expected[..., None]).all()


def test_upload_form_takes_the_digit_as_an_image(client: TestClient) -> None:
    pixels, _ = digit(0)
    spec = {"layers": SEED_PIPELINE, "weights": {"seed": 0}, "method": "saliency", "target": 7}
    response = client.post(
        "/v1/models/attribute/upload",
        data={"spec": json.dumps(spec)},
        files={"image": ("seven.png", encode(pixels, "PNG"))},
    )
    assert response.status_code == 200, response.text
    want, _ = direct("saliency", seed_model(), seven(), {"target": 7})
    assert_close(tensor_from(response.json()["attribution"]), want)


REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"method": "saliency", "target": 10}, "body.target", "0 to 9"),
    ({"method": "saliency", "target": [7, 7]}, "body.target", "2 targets for 1 samples"),
    ({"method": "saliency"}, "body.target", "set target to a class from 0 to 9"),
    ({"method": "saliency", "target": 7, "n_steps": 5}, "body", "`n_steps`: not an option of "
     "method saliency, which takes `abs`"),
    ({"method": "layer_gradcam", "target": 7, "layer": "9"}, "body.layer", "no module"),
    ({"method": "occlusion", "target": 7, "sliding_window_shapes": [4, 4]},
     "body.sliding_window_shapes", "2 sizes for a sample of shape [1, 28, 28]"),
    ({"method": "occlusion", "target": 7, "sliding_window_shapes": [1, 40, 4]},
     "body.sliding_window_shapes.1", "use a size from 1 to 28"),
    ({"method": "occlusion", "target": 7, "sliding_window_shapes": [1, 2, 2], "strides": [1, 3, 2]},
     "body.strides.1", "stride 3 is larger than the window, 2"),
]  # fmt: skip


@pytest.mark.parametrize(("ask", "field", "says"), REFUSED)
def test_refused_with_the_field_and_the_range(
    client: TestClient, ask: dict[str, Any], field: str, says: str
) -> None:
    response = client.post("/v1/models/attribute", json=SEED | ask)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert says in problem["detail"], problem["detail"]


def per_sample_elements(model: nn.Module, x: torch.Tensor) -> int:
    """The input's and every leaf module's output elements, per sample (hooks, run here)."""
    sizes = [x.numel()]
    handles = [
        m.register_forward_hook(lambda m, a, out: sizes.append(out.numel()))
        for m in model.modules()
        if not list(m.children())
    ]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return sum(sizes) // x.shape[0]


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    with TestClient(create_app(make_settings(max_total_elements=1_000_000))) as c:
        yield c


def test_integrated_gradients_is_sized_before_it_runs(small: TestClient) -> None:
    model = seed_model()
    per_sample = per_sample_elements(model, seven())
    weights = sum(p.numel() for p in model.parameters())
    fits = (1_000_000 // 2 - weights) // per_sample
    ig = SEED | {"method": "integrated_gradients", "target": 7, "n_steps": 50}
    response = small.post("/v1/models/attribute", json=ig)
    assert response.status_code == 413
    problem = response.json()
    assert problem["context"]["samples_per_pass"] == fits
    assert f"run at most {fits} samples a pass (internal_batch_size" in problem["detail"]
    chunked = small.post("/v1/models/attribute", json=ig | {"internal_batch_size": fits})
    assert chunked.status_code == 200, chunked.text
    want, delta = direct(
        "integrated_gradients", model, seven(), {"target": 7, "n_steps": 50,
                                                  "internal_batch_size": fits}
    )  # fmt: skip
    check(chunked.json(), "integrated_gradients", want, delta)


def test_occlusion_work_is_bounded() -> None:
    """784 windows of one pixel x 29,604 elements a sample: over 64 x 300,000."""
    per_sample = per_sample_elements(seed_model(), seven())
    assert 28 * 28 * per_sample > 64 * 300_000
    body = SEED | {"method": "occlusion", "target": 7, "sliding_window_shapes": [1, 1, 1]}
    with TestClient(create_app(make_settings(max_total_elements=300_000))) as tiny:
        response = tiny.post("/v1/models/attribute", json=body)
        assert response.status_code == 413
        problem = response.json()
        assert problem["type"] == "/problems/too-much-work"
        assert problem["context"]["samples"] == 28 * 28
        assert problem["context"]["elements"] == 28 * 28 * per_sample
        wide = tiny.post(
            "/v1/models/attribute",
            json=body | {"sliding_window_shapes": [1, 2, 2], "strides": [1, 2, 2]},
        )
        assert wide.status_code == 200, wide.text


def test_an_mnist_batch_with_a_target_per_sample(client: TestClient) -> None:
    indices = [0, 1, 2, 3]
    samples = [digit(i) for i in indices]
    x = torch.cat([reference(pixels) for pixels, _ in samples])
    labels = [label for _, label in samples]
    body = post(
        client,
        SEED
        | {"input": {"mnist": {"split": "test", "indices": indices}}, "method":
           "integrated_gradients", "target": labels, "n_steps": 10},
    )  # fmt: skip
    want, delta = direct("integrated_gradients", seed_model(), x, {"target": labels, "n_steps": 10})
    check(body, "integrated_gradients", want, delta)
    assert body["target"] == labels
    assert body["labels"]["targets"] == labels
    assert tensor_from(body["convergence_delta"]).shape == (4,)
