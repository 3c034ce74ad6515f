"""Misfit explanations: what the layer expects, what it receives, and the fix."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from schemas.layer_specs import TYPE_NAMES, LayerSpec
from service.planning.fit import Received, misfit, output_on_meta
from tests.direct import torch_layer

SPEC = TypeAdapter(LayerSpec)

# (spec, input shape, words the detail must hold)
MISFITS: list[tuple[dict[str, Any], list[int], list[str]]] = [
    (
        {"type": "linear", "in_features": 784, "out_features": 10},
        [1, 500],
        ["expects 784 input features", "[1, 500]", "set in_features=500"],
    ),
    (
        {"type": "linear", "in_features": 784, "out_features": 10},
        [1, 20, 12, 12],
        ["set in_features=12", "flatten"],
    ),
    (
        {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3},
        [1, 1, 28, 28],
        ["3 input channels", "[1, 1, 28, 28]", "set in_channels=1"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 7},
        [1, 1, 5, 5],
        ["at least 7", "set padding >= 1"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3, "dilation": 4},
        [1, 1, 6, 6],
        ["dilated to 9", "padding >= 2"],
    ),
    (
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3},
        [28, 28],
        ["4-D input", "[1, C, H, W]"],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 4,
            "padding_mode": "reflect",
        },
        [1, 1, 4, 4],
        ["padding at most 3", "padding_mode='zeros'"],
    ),
    ({"type": "maxpool2d", "kernel_size": 5}, [1, 1, 3, 3], ["at least 5"]),
    ({"type": "maxpool2d", "kernel_size": 2}, [10], ["4-D input"]),
    ({"type": "flatten", "start_dim": 1}, [10], ["set start_dim between -1 and 0"]),
    ({"type": "flatten", "start_dim": 2, "end_dim": 1}, [2, 3, 4], ["swap them"]),
    ({"type": "activation", "name": "softmax", "dim": 2}, [1, 10], ["set dim between -2 and 1"]),
    # One or more per family of the widened vocabulary. Convolutions:
    (
        {"type": "conv1d", "in_channels": 4, "out_channels": 2, "kernel_size": 3},
        [2, 3, 10],
        ["4 input channels (dimension 1)", "set in_channels=3"],
    ),
    (
        {"type": "conv3d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
        [1, 8, 8],
        ["5-D input [N, C, D, H, W] (or 4-D [C, D, H, W])"],
    ),
    (
        {
            "type": "convtranspose2d",
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 1,
            "padding": 1,
        },
        [1, 1, 2, 2],
        ["output height of at least 1, not 0", "set padding <= 0"],
    ),
    (
        {
            "type": "conv1d",
            "in_channels": 1,
            "out_channels": 1,
            "kernel_size": 3,
            "padding": 3,
            "padding_mode": "circular",
        },
        [1, 1, 2],
        ["padding at most 2 along the length", "set padding <= 2"],
    ),
    # Pools:
    ({"type": "avgpool1d", "kernel_size": 4}, [1, 2, 3], ["input length of at least 4"]),
    ({"type": "maxpool3d", "kernel_size": 2}, [4, 4], ["5-D input"]),
    (
        {"type": "lppool2d", "norm_type": 2, "kernel_size": 3},
        [1, 1, 2, 5],
        ["input height of at least 3 (kernel 3, padding 0)"],
    ),
    ({"type": "adaptiveavgpool2d", "output_size": 2}, [4, 5], ["4-D input [N, C, H, W]"]),
    (
        {"type": "adaptivemaxpool1d", "output_size": 2},
        [1, 0, 3],
        ["sizes of at least 1 after dimension 0"],
    ),
    # Normalization (the batchnorm2d sentence is checked verbatim below):
    (
        {"type": "batchnorm2d", "num_features": 20},
        [1, 16, 24, 24],
        ["expects 20 channels (dimension 1) but receives [1, 16, 24, 24]; set num_features=16"],
    ),
    ({"type": "batchnorm3d", "num_features": 3}, [3, 4, 4, 4], ["5-D input [N, C, D, H, W]"]),
    (
        {"type": "instancenorm2d", "num_features": 3, "affine": True},
        [1, 4, 5, 5],
        ["3 input channels (dimension 1)", "set num_features=4"],
    ),
    (
        {"type": "layernorm", "normalized_shape": [4, 5]},
        [2, 5, 4],
        ["last dimensions to be [4, 5]", "set normalized_shape=[5, 4]"],
    ),
    (
        {"type": "groupnorm", "num_groups": 2, "num_channels": 6},
        [2, 4, 3],
        ["6 channels (dimension 1)", "set num_channels=4"],
    ),
    (
        {"type": "groupnorm", "num_groups": 4, "num_channels": 8, "affine": False},
        [2, 6, 3],
        ["divisible by num_groups (4)", "set num_groups to a divisor of 6"],
    ),
    ({"type": "localresponsenorm", "size": 2}, [4, 5], ["at least 3 dimensions [N, C, *]"]),
    # Dropout:
    ({"type": "dropout1d"}, [2, 3, 4, 5], ["3-D input [N, C, L] (or 2-D [C, L])"]),
    # Shapes:
    (
        {"type": "unflatten", "dim": 1, "unflattened_size": [2, 4]},
        [3, 6],
        ["dimension 1 (size 6) to split into [2, 4]", "product is 6"],
    ),
    (
        {"type": "pixelshuffle", "upscale_factor": 2},
        [1, 6, 3, 3],
        ["divisible by upscale_factor^2 = 4"],
    ),
    (
        {"type": "pixelunshuffle", "downscale_factor": 2},
        [1, 1, 5, 4],
        ["height and width divisible by downscale_factor (2)"],
    ),
    (
        {"type": "upsample", "scale_factor": 2, "mode": "bilinear"},
        [1, 2, 5],
        ["4-D input [N, C, ...] for mode 'bilinear'", "use mode 'nearest'"],
    ),
    (
        {"type": "upsample", "scale_factor": 0.2},
        [1, 2, 3],
        ["every spatial size at least 1 (it gives [0])", "raise scale_factor"],
    ),
    ({"type": "upsample", "scale_factor": 2}, [1, 2, 0], ["only the batch may be empty"]),
    (
        {"type": "zeropad1d", "padding": [-3, 1]},
        [1, 2, 1],
        ["does not crop dimension 2 below size 0", "crop less"],
    ),
    ({"type": "zeropad2d", "padding": 1}, [5], ["at least 2 dimensions to pad"]),
    # Linear and embedding:
    ({"type": "linear", "in_features": 3, "out_features": 2}, [], ["send shape [3] or [N, 3]"]),
    (
        {"type": "embedding", "num_embeddings": 10, "embedding_dim": 3},
        [2, 4],
        ["integer indices (int64), not float32", '"dtype": "int64"'],
    ),
    # Activations:
    ({"type": "activation", "name": "glu"}, [2, 5], ["dimension -1 of even size", "not 5"]),
    (
        {"type": "activation", "name": "prelu", "num_parameters": 3},
        [2, 4, 5],
        ["3 channels (dimension 1)", "set num_parameters=4 or 1"],
    ),
    (
        {"type": "activation", "name": "prelu", "num_parameters": 3},
        [3],
        ["a 0-d or 1-D input has one channel", "set num_parameters=1, or send shape [1, 3]"],
    ),
    ({"type": "activation", "name": "log_softmax", "dim": 1}, [], ["set dim between -1 and 0"]),
    (
        {"type": "adaptiveavgpool2d", "output_size": [1, 1]},
        [4, 5],
        ["4-D input [N, C, H, W] (or 3-D [C, H, W])"],
    ),
]

MISFITS += [
    # one row for each type the table above has none for, each as PyTorch refuses it
    ({"type": "adaptiveavgpool1d", "output_size": 2}, [1, 2, 3, 4], ["3-D input", "[1, C, L]"]),
    ({"type": "adaptiveavgpool3d", "output_size": 2}, [2, 3], ["5-D input", "[1, C, D, H, W]"]),
    ({"type": "adaptivemaxpool2d", "output_size": 2}, [4, 4], ["4-D input", "[1, C, H, W]"]),
    ({"type": "adaptivemaxpool3d", "output_size": 2}, [1, 2], ["5-D input"]),
    ({"type": "avgpool2d", "kernel_size": 5}, [1, 1, 3, 3], ["height of at least 5", "padding"]),
    ({"type": "avgpool3d", "kernel_size": 3}, [1, 1, 2, 4, 4], ["depth of at least 3"]),
    (
        {"type": "convtranspose1d", "in_channels": 4, "out_channels": 2, "kernel_size": 3},
        [1, 3, 10],
        ["4 input channels", "set in_channels=3"],
    ),
    (
        {"type": "convtranspose3d", "in_channels": 2, "out_channels": 2, "kernel_size": 3},
        [1, 3, 4, 4, 4],
        ["2 input channels", "set in_channels=3"],
    ),
    (
        {"type": "instancenorm3d", "num_features": 3, "affine": True},
        [1, 4, 2, 2, 2],
        ["3 input channels", "set num_features=4"],
    ),
    ({"type": "lppool1d", "norm_type": 2, "kernel_size": 4}, [1, 2, 3], ["length of at least 4"]),
    ({"type": "maxpool1d", "kernel_size": 5}, [1, 2, 3], ["length of at least 5"]),
    ({"type": "zeropad3d", "padding": 1}, [2, 2], ["at least 3 dimensions", "[1, C, D, H, W]"]),
]

NEVER_MISFIT: list[tuple[dict[str, Any], list[int]]] = [
    ({"type": "dropout"}, []),
    ({"type": "alphadropout"}, []),
    ({"type": "identity"}, []),
    ({"type": "dropout1d"}, [2, 3, 4]),
    ({"type": "dropout2d"}, [2, 3, 4, 5]),
    ({"type": "dropout3d"}, [2, 3, 4, 5, 6]),
]
"""Types that take any input PyTorch takes (the channel dropouts only warn on other ranks):
no misfit to teach, so none is made up."""


TRAIN_MISFITS: list[tuple[dict[str, Any], list[int], list[str]]] = [
    (
        {"type": "batchnorm1d", "num_features": 3},
        [1, 3],
        ["more than one value per channel", '"mode": "eval"'],
    ),
    (
        {"type": "instancenorm1d", "num_features": 3, "track_running_stats": True},
        [2, 3, 1],
        ["more than one spatial element"],
    ),
]
"""Misfits of train mode only (batch statistics); in eval mode the same input fits."""


@pytest.mark.parametrize(("spec", "shape", "words"), MISFITS)
def test_misfit_is_a_422_that_teaches(
    client: TestClient, spec: dict[str, Any], shape: list[int], words: list[str]
) -> None:
    check_misfit(client, spec, shape, words, "eval")


@pytest.mark.parametrize(("spec", "shape", "words"), TRAIN_MISFITS)
def test_train_mode_misfit_is_a_422_that_teaches(
    client: TestClient, spec: dict[str, Any], shape: list[int], words: list[str]
) -> None:
    check_misfit(client, spec, shape, words, "train")
    want = torch_layer(spec).eval()(torch.zeros(shape))  # PyTorch runs it in eval mode
    assert misfit(SPEC.validate_python(spec), Received(shape, training=False)) is None
    body = {"layer": spec, "input": {"shape": shape}, "mode": "eval"}
    assert client.post("/v1/layers/inspect", json=body).json()["output"]["shape"] == [*want.shape]


@pytest.mark.parametrize(("spec", "shape"), NEVER_MISFIT)
def test_what_never_misfits_runs_as_pytorch_runs_it(
    client: TestClient, spec: dict[str, Any], shape: list[int]
) -> None:
    assert misfit(SPEC.validate_python(spec), Received(shape)) is None
    want = torch_layer(spec).eval()(torch.zeros(shape))
    body = {"layer": spec, "input": {"shape": shape}}
    assert client.post("/v1/layers/inspect", json=body).json()["output"]["shape"] == [*want.shape]


def test_every_layer_type_has_a_misfit_row_or_never_misfits() -> None:
    """So a new type cannot come without its teaching 422 (or the reason it has none)."""
    covered = {spec["type"] for spec, _, _ in MISFITS + TRAIN_MISFITS}
    covered |= {spec["type"] for spec, _ in NEVER_MISFIT}
    offered = set(TYPE_NAMES)
    assert offered - covered == set()


def test_batchnorm_channels_misfit_says_it_verbatim(client: TestClient) -> None:
    body = {
        "layer": {"type": "batchnorm2d", "num_features": 20},
        "input": {"shape": [1, 16, 24, 24]},
    }
    problem = client.post("/v1/layers/inspect", json=body).json()
    assert problem["detail"] == (
        "batchnorm2d expects 20 channels (dimension 1) but receives [1, 16, 24, 24]; "
        "set num_features=16"
    )


def check_misfit(
    client: TestClient, spec: dict[str, Any], shape: list[int], words: list[str], mode: str
) -> None:
    """The misfit's words, PyTorch's refusal of the same input in the same mode, and the 422."""
    training = mode == "train"
    layer = SPEC.validate_python(spec)
    found = misfit(layer, Received(shape, training=training))
    assert found is not None
    for word in words:  # the explanation itself holds the words, before any route words it
        assert word in found.sentence("the layer", shape), (word, found)
    # PyTorch agrees that this input does not fit.
    with pytest.raises((RuntimeError, ValueError, IndexError, NotImplementedError)):
        torch_layer(spec).train(training)(torch.zeros(shape))
    body = {"layer": spec, "input": {"shape": shape}, "mode": mode}
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "/problems/shape-mismatch"
    for word in words:
        assert word in problem["detail"], (word, problem["detail"])
    assert problem["errors"][0]["field"] == "body.layer"
    assert problem["context"]["received"] == shape


FITS: list[tuple[dict[str, Any], list[int]]] = [
    (
        {
            "type": "conv2d",
            "in_channels": 16,
            "out_channels": 33,
            "kernel_size": [3, 5],
            "stride": [2, 1],
            "padding": [4, 2],
            "dilation": [3, 1],
        },
        [20, 16, 50, 100],
    ),
    (
        {
            "type": "conv2d",
            "in_channels": 2,
            "out_channels": 4,
            "kernel_size": 9,
            "padding": "same",
        },
        [2, 5, 5],
    ),
    (
        {"type": "maxpool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        [1, 1, 7, 7],
    ),
    ({"type": "linear", "in_features": 3, "out_features": 1}, [3]),
    ({"type": "flatten", "start_dim": 0}, [4]),
    ({"type": "activation", "name": "log_softmax", "dim": -1}, [2, 2, 2]),
]


@pytest.mark.parametrize(("spec", "shape"), FITS)
def test_fitting_shapes_have_no_misfit_and_meta_shape_equals_real(
    spec: dict[str, Any], shape: list[int]
) -> None:
    layer = SPEC.validate_python(spec)
    assert misfit(layer, shape) is None
    real = torch_layer(spec)(torch.zeros(shape))
    with torch.device("meta"):
        meta = torch_layer(spec)
    assert list(output_on_meta(meta, Received(shape)).shape) == list(real.shape)


SUGGESTED: list[tuple[dict[str, Any], list[int], str]] = [
    ({"type": "linear", "in_features": 784, "out_features": 10}, [1, 2880], "in_features"),
    (
        {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3},
        [1, 1, 9, 9],
        "in_channels",
    ),
    ({"type": "batchnorm2d", "num_features": 20}, [2, 16, 4, 4], "num_features"),
    ({"type": "groupnorm", "num_groups": 2, "num_channels": 8}, [2, 6, 3], "num_channels"),
    ({"type": "layernorm", "normalized_shape": 5}, [2, 7], "normalized_shape"),
    ({"type": "activation", "name": "prelu", "num_parameters": 3}, [2, 4, 5], "num_parameters"),
]


@pytest.mark.parametrize(("spec", "shape", "argument"), SUGGESTED)
def test_the_suggested_value_makes_it_fit(
    client: TestClient, spec: dict[str, Any], shape: list[int], argument: str
) -> None:
    """A misfit's `context.suggestion` names the one argument to change and its value: applied
    as is (one click in a front end), the service and PyTorch both take the input."""
    body = {"layers": [spec], "input": {"shape": shape}}
    problem = client.post("/v1/models/inspect", json=body).json()
    suggestion = problem["context"]["suggestion"]
    assert suggestion["field"] == f"body.layers.0.{argument}"
    assert suggestion["argument"] == argument
    fixed = {**spec, argument: suggestion["value"]}
    r = client.post("/v1/models/inspect", json={**body, "layers": [fixed]})
    assert r.status_code == 200, r.text
    assert r.json()["layers"][0]["output_shape"] == list(
        torch_layer(fixed)(torch.zeros(shape)).shape
    )
