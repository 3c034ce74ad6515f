"""Receptive fields in the summary's rows (service/explain/field_trace.py): equal to the values
worked out here, layer by layer, from each network's definition, with the textbook recurrence
in its `start` form (Dang Ha The Hien, 2017; pixel i's centre at i):

    size += (k - 1) * d * jump;  start += ((k - 1) * d / 2 - p) * jump;  jump *= s

and to the published totals (Araujo, Norris & Sim, Distill 2019: VGG-16 212, MobileNet v2 491;
ResNet-18 435). The service tracks each window's first position instead of its centre, so the
two are different formulations of the same arithmetic."""

from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas.examples import SEED_PIPELINE

Layer = tuple[int, int, int, int]
"""(kernel, stride, padding, dilation) along one axis."""


def chain(
    layers: list[Layer], begin: tuple[int, int, float] = (1, 1, 0.0)
) -> tuple[int, int, float]:
    """(size, jump, start) after `layers`, from `begin`."""
    size, jump, start = begin
    for k, s, p, d in layers:
        size += (k - 1) * d * jump
        start += ((k - 1) * d / 2 - p) * jump
        jump *= s
    return size, jump, start


def field(value: tuple[int, int, float], axes: int = 2) -> dict[str, list[Any]]:
    size, jump, start = value
    return {"size": [size] * axes, "jump": [jump] * axes, "start": [start] * axes}


def rows(client: TestClient, body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    response = client.post("/v1/models/summary", json=body | {"depth": 8})
    assert response.status_code == 200, response.text
    return {row["name"]: row for row in response.json()["layers"]}


def check(table: dict[str, dict[str, Any]], expected: dict[str, tuple[int, int, float]]) -> None:
    for name, value in expected.items():
        assert table[name]["receptive_field"] == field(value), name
        assert table[name]["receptive_field_reason"] is None, name


def test_seed_pipeline(client: TestClient) -> None:
    table = rows(client, {"layers": SEED_PIPELINE, "input_shape": [1, 1, 28, 28]})
    conv = chain([(5, 1, 0, 1)])
    assert conv == (5, 1, 2.0)
    pool = chain([(2, 2, 0, 1)], conv)
    assert pool == (6, 2, 2.5)
    check(table, {"0": conv, "1": conv, "2": pool})
    assert table["3"]["receptive_field"] is None
    assert "module 3 (Flatten) merges spatial dimensions" in table["3"]["receptive_field_reason"]
    for name in ("4", "5"):
        assert table[name]["receptive_field"] is None
        assert table[name]["receptive_field_reason"].startswith(
            "module 4 (Linear) sums over the positions of a spatial axis"
        )


def resnet18_expected() -> dict[str, tuple[int, int, float]]:
    """Along the longest path (the 3 x 3 convolutions; the 1 x 1 downsample's window is
    inside the main path's, centred the same, so the residual add's union is the main path's)."""
    expected = {"conv1": chain([(7, 2, 3, 1)])}
    expected["bn1"] = expected["relu"] = expected["conv1"]
    current = expected["maxpool"] = chain([(3, 2, 1, 1)], expected["conv1"])
    for stage in range(1, 5):
        for block in range(2):
            stride = 2 if stage > 1 and block == 0 else 1
            first = chain([(3, stride, 1, 1)], current)
            current = chain([(3, 1, 1, 1)], first)
            prefix = f"layer{stage}.{block}"
            expected[f"{prefix}.conv1"] = expected[f"{prefix}.bn1"] = first
            expected[f"{prefix}.conv2"] = expected[f"{prefix}.bn2"] = current
            expected[prefix] = current
        expected[f"layer{stage}"] = current
    return expected


def test_resnet18(client: TestClient) -> None:
    table = rows(client, {"model": {"torchvision": "resnet18"}})
    expected = resnet18_expected()
    assert expected["layer4"] == (435, 32, 0.0)
    check(table, expected)
    for name in ("avgpool", "fc"):
        assert table[name]["receptive_field"] is None
        assert table[name]["receptive_field_reason"].startswith(
            "module avgpool (AdaptiveAvgPool2d) reduces over every position of a spatial axis: "
            "a global pooling"
        )


VGG_CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512,
              "M"],
}  # fmt: skip
"""torchvision's VGG configurations A and D: 3 x 3 convolutions (padding 1) and 2 x 2 pools."""


@pytest.mark.parametrize(("name", "total"), [("vgg11", 150), ("vgg16", 212)])
def test_vgg(client: TestClient, name: str, total: int) -> None:
    table = rows(client, {"model": {"torchvision": name}})
    expected: dict[str, tuple[int, int, float]] = {}
    current = (1, 1, 0.0)
    index = 0
    for item in VGG_CONFIGS[name]:
        if item == "M":
            current = chain([(2, 2, 0, 1)], current)
            expected[f"features.{index}"] = current
            index += 1
        else:
            current = chain([(3, 1, 1, 1)], current)
            expected[f"features.{index}"] = expected[f"features.{index + 1}"] = current
            index += 2
    expected["features"] = expected["avgpool"] = current  # adaptive 7 x 7 of a 7 x 7 map
    assert current[0] == total
    check(table, expected)
    assert table["classifier.0"]["receptive_field_reason"].startswith(
        "module classifier.0 (Linear) sums over the positions"
    )


MOBILENET_V2 = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]  # fmt: skip
"""torchvision's inverted residual setting: (t, c, n, s); each block has one 3 x 3 depthwise
convolution (padding 1, stride s on the first of n), its 1 x 1 convolutions slide nothing."""


def test_mobilenet_v2(client: TestClient) -> None:
    table = rows(client, {"model": {"torchvision": "mobilenet_v2"}})
    current = chain([(3, 2, 1, 1)])
    expected = {"features.0": current, "features.0.0": current}
    index = 1
    for _, _, repeats, stride in MOBILENET_V2:
        for i in range(repeats):
            current = chain([(3, stride if i == 0 else 1, 1, 1)], current)
            expected[f"features.{index}"] = current
            index += 1
    expected["features.18"] = expected["features"] = current
    assert current[0] == 491
    check(table, expected)


def test_convnext_tiny_follows_its_permuted_linear_layers(client: TestClient) -> None:
    """ConvNeXt's blocks run their 1 x 1 layers as nn.Linear on [N, H, W, C] (a permute, a
    view merging N, H, W, a matrix product over C, a view back): positions stay on the grid."""
    table = rows(client, {"model": {"torchvision": "convnext_tiny"}})
    stem = chain([(4, 4, 0, 1)])
    stage = stem
    for _ in range(3):
        stage = chain([(7, 1, 3, 1)], stage)
    check(
        table,
        {
            "features.0": stem,
            "features.1": stage,
            "features.1.0.block.3": chain([(7, 1, 3, 1)], stem),
        },
    )


def test_squeeze_and_excitation_ends_the_grid_with_its_reason(client: TestClient) -> None:
    table = rows(client, {"model": {"torchvision": "mobilenet_v3_small"}})
    assert table["features.0"]["receptive_field"] == field(chain([(3, 2, 1, 1)]))
    reason = table["features.1"]["receptive_field_reason"]
    assert reason == (
        "module features.1.block.1 (SqueezeExcitation) scales by a tensor that sees the whole "
        "input, a squeeze-and-excitation (aten.mul); before that, module "
        "features.1.block.1.avgpool (AdaptiveAvgPool2d) reduces over every position of a "
        "spatial axis: a global pooling (aten.mean)"
    )
    assert table["classifier"]["receptive_field"] is None


def conv(**args: Any) -> dict[str, Any]:
    return {"type": "conv2d", "in_channels": 2, "out_channels": 2, "kernel_size": 3} | args


PIPELINE_CASES: list[tuple[list[dict[str, Any]], list[int], list[Any]]] = [
    # 1-d layers run as 2-d ones on an unsqueezed dimension (aten avg_pool2d on [N, C, 1, L])
    (
        [
            {"type": "conv1d", "in_channels": 2, "out_channels": 3, "kernel_size": 3,
             "dilation": 2, "padding": 1},
            {"type": "maxpool1d", "kernel_size": 3, "stride": 2, "padding": 1},
            {"type": "avgpool1d", "kernel_size": 2},
        ],
        [1, 2, 40],
        [[(3, 1, 1, 2)], [(3, 2, 1, 1)], [(2, 2, 0, 1)]],
    ),
    (
        [conv(stride=2, padding=2, dilation=3), {"type": "activation", "name": "gelu"},
         {"type": "batchnorm2d", "num_features": 2}, {"type": "maxpool2d", "kernel_size": 3,
         "dilation": 2, "stride": 1, "ceil_mode": True}],
        [1, 2, 30, 30],
        [[(3, 2, 2, 3)], [], [], [(3, 1, 0, 2)]],
    ),
    # zero padding shifts the start (left 1, right 2, top 3, bottom 4)
    (
        [{"type": "zeropad2d", "padding": [1, 2, 3, 4]}, conv()],
        [1, 2, 10, 10],
        [[(1, 1, 3, 1), (1, 1, 1, 1)], [(3, 1, 0, 1)]],
    ),
    # adaptive pooling that divides evenly is a plain pooling
    ([{"type": "adaptiveavgpool2d", "output_size": 4}], [1, 2, 8, 8], [[(2, 2, 0, 1)]]),
    (
        [{"type": "groupnorm", "num_groups": 1, "num_channels": 2}, conv(),
         {"type": "layernorm", "normalized_shape": [2, 8, 8]},
         {"type": "activation", "name": "softmax", "dim": 1}],
        [1, 2, 10, 10],
        [[], [(3, 1, 0, 1)], [], []],
    ),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "shape", "steps"), PIPELINE_CASES)
def test_pipeline_layers(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], steps: list[Any]
) -> None:
    table = rows(client, {"layers": layers, "input_shape": shape})
    axes = len(shape) - 2
    current: Any = [(1, 1, 0.0)] * axes
    for index, step in enumerate(steps):
        if len(step) > 1:  # one entry per axis
            current = [chain([s], c) for s, c in zip(step, current, strict=True)]
        else:
            current = [chain(step, c) for c in current]
        got = table[str(index)]["receptive_field"]
        assert got == {
            "size": [c[0] for c in current],
            "jump": [c[1] for c in current],
            "start": [c[2] for c in current],
        }, index


ENDS: list[tuple[list[dict[str, Any]], list[int], str]] = [
    ([conv(padding=1, padding_mode="reflect")], [1, 2, 8, 8], "pads by mirroring"),
    ([conv(padding=1, padding_mode="circular")], [1, 2, 8, 8], "writes into part of a tensor"),
    ([{"type": "convtranspose2d", "in_channels": 2, "out_channels": 2, "kernel_size": 2}],
     [1, 2, 8, 8], "a transposed convolution"),
    ([conv(kernel_size=1), {"type": "upsample", "scale_factor": 2}], [1, 2, 8, 8], "upsamples"),
    ([{"type": "adaptiveavgpool2d", "output_size": 3}], [1, 2, 7, 7], "7 positions into 3"),
    ([conv(), {"type": "activation", "name": "softmax", "dim": -1}], [1, 2, 8, 8],
     "normalizes across the positions of a spatial axis"),
    ([conv(in_channels=4, out_channels=4), {"type": "pixelshuffle", "upscale_factor": 2}],
     [1, 4, 4, 4], "pixel shuffle"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "shape", "phrase"), ENDS)
def test_what_ends_the_grid_says_so(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], phrase: str
) -> None:
    table = rows(client, {"layers": layers, "input_shape": shape})
    last = table[str(len(layers) - 1)]
    assert last["receptive_field"] is None
    assert phrase in last["receptive_field_reason"], last["receptive_field_reason"]


def test_no_spatial_layers_no_fields(client: TestClient) -> None:
    layers = [{"type": "linear", "in_features": 4, "out_features": 2}]
    table = rows(client, {"layers": layers, "input_shape": [3, 4]})
    assert table["0"]["receptive_field"] is None
    assert "no convolution or pooling layer" in table["0"]["receptive_field_reason"]
