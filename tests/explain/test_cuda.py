"""The explain routes on a CUDA device: attributions equal Captum run directly on the same
device, and each sweep value equals /v1/layers/inspect there (skipped without CUDA)."""

from typing import Any

import pytest
import torch
from captum import attr
from fastapi.testclient import TestClient
from torch.testing import assert_close

from tests.explain.test_attribution import RESNET, SEED, resnet, resnet_input, seed_model, seven
from tests.helpers import tensor_from

pytestmark = pytest.mark.cuda

CASES: list[tuple[dict[str, Any], str, dict[str, Any]]] = [
    (SEED, "saliency", {"target": 7}),
    (SEED, "integrated_gradients", {"target": 7, "n_steps": 16, "internal_batch_size": 8}),
    (SEED, "occlusion", {"target": 7, "sliding_window_shapes": [1, 4, 4], "strides": [1, 4, 4]}),
    (RESNET, "input_x_gradient", {"target": [3, 5]}),
    (RESNET, "layer_gradcam", {"target": 3, "layer": "layer4"}),
]


def direct(source: dict[str, Any], method: str, options: dict[str, Any]) -> torch.Tensor:
    """Captum's class on the model and input moved to CUDA, as a notebook would run it."""
    model = (seed_model() if source is SEED else resnet()).cuda()
    x = (seven() if source is SEED else resnet_input()).cuda()
    options = {
        k: tuple(v) if k != "target" and isinstance(v, list) else v for k, v in options.items()
    }
    if method == "saliency":
        return attr.Saliency(model).attribute(x.requires_grad_(True), **options)
    if method == "input_x_gradient":
        return attr.InputXGradient(model).attribute(x.requires_grad_(True), **options)
    if method == "integrated_gradients":
        return attr.IntegratedGradients(model).attribute(x.requires_grad_(True), **options)
    if method == "occlusion":
        return attr.Occlusion(model).attribute(x, **options)
    layer = model.get_submodule(options.pop("layer"))
    return attr.LayerGradCam(model, layer).attribute(x.requires_grad_(True), **options)


@pytest.mark.parametrize(("source", "method", "options"), CASES)
def test_attributions_on_cuda_equal_captum_there(
    client: TestClient, source: dict[str, Any], method: str, options: dict[str, Any]
) -> None:
    body = source | {"method": method, "device": "cuda", "encoding": "base64"} | options
    response = client.post("/v1/models/attribute", json=body)
    assert response.status_code == 200, response.text
    got = response.json()
    assert got["device"].startswith("cuda")
    want = direct(source, method, dict(options)).detach().cpu()
    # cuDNN may pick other kernels for other batch sizes: float32 rounding, not more
    assert_close(tensor_from(got["attribution"]), want, rtol=1e-4, atol=1e-6)
    assert got["heatmap"].startswith("data:image/png;base64,")


def test_sweep_on_cuda_is_inspect_on_cuda(client: TestClient) -> None:
    layer = {"type": "conv2d", "in_channels": 1, "out_channels": 4, "kernel_size": 3}
    common = {"input": {"shape": [2, 1, 16, 16]}, "device": "cuda", "include": ["output"]}
    body = client.post(
        "/v1/layers/sweep",
        json=common | {"layer": layer, "argument": "dilation", "values": [1, 2, 8]},
    ).json()
    assert [r["status"] for r in body["results"]] == [200, 200, 422]
    for value, result in zip([1, 2], body["results"][:2], strict=True):
        one = client.post(
            "/v1/layers/inspect", json=common | {"layer": layer | {"dilation": value}}
        )
        assert result["result"]["device"].startswith("cuda")
        assert_close(tensor_from(result["result"]["output"]), tensor_from(one.json()["output"]))
