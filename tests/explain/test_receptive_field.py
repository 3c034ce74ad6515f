"""POST /v1/models/receptive-field, checked by gradients: for every unit asked about, the input
positions whose gradient is non-zero (backward from that unit of the module's output, models
built here from torch.nn and torchvision, over several random inputs) lie inside the window
the service gives and reach each of its edges; without padding they fill it. And for an input
box, the units whose value changes when the box's pixels change lie inside the range it gives
and reach each of its edges."""

import base64
from typing import Any

import numpy as np
import pytest
import torch
import torchvision
from fastapi.testclient import TestClient
from torch import nn

from schemas.examples import SEED_PIPELINE
from tests.direct import sequential
from tests.image_files import decode_png, digit, reference

REPEATS = 32
"""Random inputs per unit: a ReLU or a max pool may hide a position from one input's gradient,
not from all of them."""
FILL_REPEATS = 128
"""For the seed pipeline, whose gradients fill the window: each of a 2 x 2 max pool's positions
must win for some input."""


def window(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    response = client.post("/v1/models/receptive-field", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def supports(
    model: nn.Module,
    module: str,
    shape: list[int],
    positions: list[tuple[int, int]],
    repeats: int = REPEATS,
) -> list[tuple[int, np.ndarray]]:
    """For each position (row, column) of `module`'s output: its liveliest channel (the one
    non-zero for the most inputs there; a channel behind a ReLU may be dead for nearly all),
    and where the gradient of that unit with respect to the input is non-zero over `repeats`
    random inputs ([H, W] bools). One backward for all: sample i * repeats + r carries unit i
    (eval mode: samples never mix)."""
    model.eval()
    captured: list[torch.Tensor] = []
    handle = model.get_submodule(module).register_forward_hook(
        lambda m, a, out: captured.append(out)
    )
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(len(positions) * repeats, *shape[1:], generator=generator, requires_grad=True)
    try:
        model(x)
    finally:
        handle.remove()
    out = captured[0]
    channels = [int((out[:, :, y, w] != 0).sum(dim=0).argmax()) for y, w in positions]
    picked = torch.stack(
        [
            out[i * repeats + r, c, y, w]
            for i, (c, (y, w)) in enumerate(zip(channels, positions, strict=True))
            for r in range(repeats)
        ]
    )
    picked.sum().backward()
    assert x.grad is not None
    grad = x.grad.abs().sum(dim=1).reshape(len(positions), repeats, *shape[2:])
    return [(c, (g != 0).any(dim=0).numpy()) for c, g in zip(channels, grad, strict=True)]


def bounding(mask: np.ndarray) -> tuple[list[int], list[int]]:
    rows, cols = np.nonzero(mask)
    return [int(rows.min()), int(cols.min())], [int(rows.max()), int(cols.max())]


def seed_model() -> nn.Module:
    torch.manual_seed(0)
    return sequential(SEED_PIPELINE)


def resnet18() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None)


def vgg11() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.vgg11(weights=None)


def mobilenet_v2() -> nn.Module:
    torch.manual_seed(0)
    return torchvision.models.mobilenet_v2(weights=None)


CASES: list[tuple[str, Any, dict[str, Any], list[int], str, list[tuple[int, int]]]] = [
    ("seed", seed_model, {"layers": SEED_PIPELINE}, [1, 1, 28, 28], "0",
     [(0, 0), (11, 17), (23, 23)]),
    ("seed", seed_model, {"layers": SEED_PIPELINE}, [1, 1, 28, 28], "2",
     [(0, 0), (5, 7), (11, 11), (0, 11)]),
    ("resnet18", resnet18, {"model": {"torchvision": "resnet18"}}, [1, 3, 64, 64], "maxpool",
     [(0, 0), (8, 5), (15, 15)]),
    ("resnet18", resnet18, {"model": {"torchvision": "resnet18"}}, [1, 3, 64, 64], "layer1.0",
     [(0, 0), (7, 9), (15, 4)]),
    ("resnet18", resnet18, {"model": {"torchvision": "resnet18"}}, [1, 3, 96, 96], "layer2.0",
     [(6, 6), (1, 10)]),
    ("vgg11", vgg11, {"model": {"torchvision": "vgg11"}}, [1, 3, 48, 48], "features.5",
     [(0, 0), (6, 3), (11, 11)]),
    ("vgg11", vgg11, {"model": {"torchvision": "vgg11"}}, [1, 3, 48, 48], "features.10",
     [(2, 3), (5, 5)]),
    ("mobilenet_v2", mobilenet_v2, {"model": {"torchvision": "mobilenet_v2"}},
     [1, 3, 64, 64], "features.1", [(0, 0), (16, 20), (31, 31)]),
    ("mobilenet_v2", mobilenet_v2, {"model": {"torchvision": "mobilenet_v2"}},
     [1, 3, 64, 64], "features.3", [(4, 9), (15, 0)]),
]  # fmt: skip


def test_cases_cover_twenty_units() -> None:
    assert sum(len(units) for *_, units in CASES) >= 20


@pytest.mark.parametrize(("label", "make", "source", "shape", "module", "units"), CASES)
def test_window_is_the_gradients_support(
    client: TestClient,
    label: str,
    make: Any,
    source: dict[str, Any],
    shape: list[int],
    module: str,
    units: list[tuple[int, int]],
) -> None:
    masks = supports(make(), module, shape, units, FILL_REPEATS if label == "seed" else REPEATS)
    for (row, col), (channel, mask) in zip(units, masks, strict=True):
        body = source | {"input_shape": shape, "module": module}
        got = window(client, body | {"unit": {"channel": channel, "position": [row, col]}})
        inside = got["window_in_input"]
        first, last = inside["start"], inside["end"]
        box = np.zeros_like(mask)
        box[first[0] : last[0] + 1, first[1] : last[1] + 1] = True
        assert not (mask & ~box).any(), f"{label} {module} {row, col}: gradient outside the box"
        assert bounding(mask) == (first, last), f"{label} {module} {row, col}"
        if label == "seed":  # no padding anywhere: the gradient fills the window
            assert (mask == box).all()
            assert got["window"] == inside


def test_unit_answer_is_the_fields_arithmetic(client: TestClient) -> None:
    got = window(
        client,
        {"model": {"torchvision": "resnet18"}, "module": "layer2", "unit": {"position": [3, 5]}},
    )
    assert got["receptive_field"] == {"size": [99, 99], "jump": [8, 8], "start": [0.0, 0.0]}
    # unit i sees start + i * jump -/+ (size - 1) / 2
    assert got["window"] == {"start": [3 * 8 - 49, 5 * 8 - 49], "end": [3 * 8 + 49, 5 * 8 + 49]}
    assert got["window_in_input"] == {"start": [0, 0], "end": [73, 89]}
    assert got["output_shape"] == [1, 128, 28, 28]
    assert got["channels"] == 128


def changed_units(
    model: nn.Module, module: str, shape: list[int], first: list[int], last: list[int]
) -> np.ndarray:
    """Where `module`'s output changes ([h, w] bools, any channel) when the box's pixels are
    redrawn, over REPEATS random inputs."""
    model.eval()
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(REPEATS, *shape[1:], generator=generator)
    y = x.clone()
    region = (slice(None), slice(None), slice(first[0], last[0] + 1), slice(first[1], last[1] + 1))
    y[region] = torch.randn(y[region].shape, generator=generator)
    captured: list[torch.Tensor] = []
    handle = model.get_submodule(module).register_forward_hook(
        lambda m, a, out: captured.append(out.detach().clone())
    )
    with torch.no_grad():
        model(x)
        model(y)
    handle.remove()
    return (captured[0] != captured[1]).any(dim=1).any(dim=0).numpy()


@pytest.mark.parametrize(
    ("make", "source", "shape", "module", "first", "last"),
    [
        (seed_model, {"layers": SEED_PIPELINE}, [1, 1, 28, 28], "2", [10, 3], [12, 3]),
        (seed_model, {"layers": SEED_PIPELINE}, [1, 1, 28, 28], "0", [0, 20], [27, 27]),
        (resnet18, {"model": {"torchvision": "resnet18"}}, [1, 3, 64, 64], "layer1", [30, 30],
         [33, 40]),
        (vgg11, {"model": {"torchvision": "vgg11"}}, [1, 3, 48, 48], "features.5", [0, 0], [2, 2]),
    ],
)  # fmt: skip
def test_box_units_are_the_units_that_change(
    client: TestClient,
    make: Any,
    source: dict[str, Any],
    shape: list[int],
    module: str,
    first: list[int],
    last: list[int],
) -> None:
    got = window(
        client,
        source | {"input_shape": shape, "module": module, "box": {"start": first, "end": last}},
    )
    changed = changed_units(make(), module, shape, first, last)
    units = got["units"]
    inside = np.zeros_like(changed)
    inside[units["start"][0] : units["end"][0] + 1, units["start"][1] : units["end"][1] + 1] = True
    assert not (changed & ~inside).any()
    assert bounding(changed) == (units["start"], units["end"])
    assert got["unit_count"] == int(inside.sum())


def test_a_box_in_dropped_columns_sees_no_unit(client: TestClient) -> None:
    """Conv2d(1, 1, 2, stride=2) on 5 x 5 drops the last row and column: no unit sees them."""
    layers = [{"type": "conv2d", "in_channels": 1, "out_channels": 1, "kernel_size": 2,
               "stride": 2}]  # fmt: skip
    got = window(
        client,
        {"layers": layers, "input_shape": [1, 1, 5, 5], "module": 0,
         "box": {"start": [4, 0], "end": [4, 4]}},
    )  # fmt: skip
    assert got["units"] is None
    assert got["unit_count"] == 0


OUT_OF_RANGE = [
    ({"unit": {"position": [24, 0]}}, "body.unit.position.0", "runs from 0 to 23"),
    ({"unit": {"position": [0, 30]}}, "body.unit.position.1", "runs from 0 to 23"),
    ({"unit": {"channel": 20, "position": [0, 0]}}, "body.unit.channel", "runs from 0 to 19"),
    ({"unit": {"position": [0]}}, "body.unit.position", "give 2 positions"),
    ({"box": {"start": [0, 0], "end": [28, 3]}}, "body.box.end.0", "runs from 0 to 27"),
    ({"box": {"start": [5, 0], "end": [3, 3]}}, "body.box.end.0", "before it starts"),
]


@pytest.mark.parametrize(("ask", "field", "says"), OUT_OF_RANGE)
def test_outside_the_shapes_is_a_422_naming_the_range(
    client: TestClient, ask: dict[str, Any], field: str, says: str
) -> None:
    body = {"layers": SEED_PIPELINE, "input_shape": [1, 1, 28, 28], "module": 0} | ask
    response = client.post("/v1/models/receptive-field", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == field
    assert says in problem["detail"], problem["detail"]


def test_a_module_without_a_field_is_a_422_with_the_reason(client: TestClient) -> None:
    body = {"model": {"torchvision": "resnet18"}, "module": "fc", "unit": {"position": [0]}}
    response = client.post("/v1/models/receptive-field", json=body)
    assert response.status_code == 422
    problem = response.json()
    assert problem["type"] == "/problems/no-receptive-field"
    assert "module avgpool (AdaptiveAvgPool2d) reduces over every position" in problem["detail"]
    unknown = client.post(
        "/v1/models/receptive-field", json=body | {"module": "layer9", "unit": {"position": [0]}}
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "body.module"


def test_png_draws_the_window_on_the_digit(client: TestClient) -> None:
    pixels, label = digit(0)
    assert label == 7
    got = window(
        client,
        {
            "layers": SEED_PIPELINE,
            "input": {"mnist": {"split": "test", "index": 0}},
            "module": 2,
            "unit": {"channel": 4, "position": [5, 7]},
            "png": True,
            "scale": 4,
        },
    )
    assert got["window"] == {"start": [10, 14], "end": [15, 19]}
    image = decode_png(base64.b64decode(got["image"].split(",", 1)[1]))
    assert image.shape == (112, 112, 3)
    red = (image == [255, 0, 0]).all(axis=2)
    # the outline: one pixel (scale 4 // 4) on the window's edge pixels, upscaled 4 times
    ring = np.zeros((112, 112), bool)
    ring[40:64, 56:80] = True
    ring[41:63, 57:79] = False
    assert (red == ring).all()
    x = reference(pixels)[0, 0]
    gray = ((x - x.min()) / (x.max() - x.min()) * 255).round().to(torch.uint8).numpy()
    expected = np.repeat(np.repeat(gray, 4, axis=0), 4, axis=1)
    assert (image[~ring] == expected[~ring][:, None]).all()


def test_the_default_input_of_an_architecture(client: TestClient) -> None:
    got = window(
        client,
        {"model": {"torchvision": "vgg11"}, "module": "features.0", "unit": {"position": [0, 0]}},
    )
    assert got["input_shape"] == [1, 3, 224, 224]
    assert got["window"] == {"start": [-1, -1], "end": [1, 1]}
