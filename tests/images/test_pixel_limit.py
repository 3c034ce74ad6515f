"""service/images/pixel_limit.py: the one size check of every picture, before it is drawn."""

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.errors import ProblemError
from service.images.pixel_limit import check_pixels
from tests.conftest import make_settings


def test_a_picture_at_the_limit_passes_and_one_pixel_more_is_a_413() -> None:
    check_pixels(10, 10, 100, "body.scale", fix="lower `scale`")
    with pytest.raises(ProblemError) as info:
        check_pixels(101, 1, 100, "body.scale", how=" (1 tile)", fix="lower `scale`")
    err = info.value
    assert (err.status, err.slug) == (413, "render-too-large")
    assert err.detail == (
        "this picture would be 101 x 1 = 101 pixels (1 tile), over the limit of 100 "
        "(LAYERSCOPE_MAX_RENDER_PIXELS); lower `scale`"
    )
    assert err.context == {
        "width": 101,
        "height": 1,
        "limit_pixels": 100,
        "setting": "LAYERSCOPE_MAX_RENDER_PIXELS",
    }


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/v1/mnist/test/batch.png?batch_size=2&scale=4", None),
        (
            "POST",
            "/v1/layers/render",
            {"layer": {"type": "activation", "name": "relu"}, "input": {"shape": [1, 1, 8, 8]}},
        ),
        (
            "POST",
            "/v1/models/receptive-field",
            {
                "layers": [
                    {"type": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 3}
                ],
                "input": {"shape": [1, 1, 28, 28]},
                "module": 0,
                "unit": {"channel": 0, "position": [0, 0]},
                "png": True,
                "scale": 4,
            },
        ),
    ],
)
def test_every_picture_route_refuses_a_picture_over_the_setting(
    method: str, path: str, body: dict[str, object] | None
) -> None:
    """Each drawer of pictures (the batch figure, render's grid, explain's pictures) sizes its
    picture with the same check, before drawing: a 413 naming the setting."""
    with TestClient(create_app(make_settings(max_render_pixels=50))) as client:
        response = client.request(method, path, json=body)
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["type"] == "/problems/render-too-large"
    assert problem["context"]["setting"] == "LAYERSCOPE_MAX_RENDER_PIXELS"
    assert problem["context"]["limit_pixels"] == 50
    assert problem["context"]["width"] * problem["context"]["height"] > 50
