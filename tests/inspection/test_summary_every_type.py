"""/v1/models/summary for every layer type and activation the schema offers (issue 12: "Summary,
FLOPs and memory work for every new type"), each alone and a few in the middle of a pipeline,
equals torchinfo's summary of the same nn.Sequential built straight from torch.nn in the test
(tests.direct, never the service's builder), with FlopCounterMode counting the very forward
pass torchinfo runs.

Compared, in both modes: every row (name, depth, input and output shape, parameter and
trainable counts, parameter and output bytes, executed, recursive, class name, repr, FLOPs);
the totals (parameters, trainable, parameter bytes, forward/backward bytes, input bytes and
total bytes as torchinfo sizes them, output shape, FLOPs); and the text table, line for line.
Tiny shapes on the CPU, so torchinfo runs an ordinary forward pass on real data.
"""

import sys
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from schemas.layer_specs import ALL_SPECS, type_name
from tests.direct import torch_layer
from tests.torchinfo_reference import (
    Reference,
    check_totals,
    reference,
    table_flops,
    table_rows,
    torchinfo_flops,
    torchinfo_rows,
)

STORAGE_OVERHEAD = sys.getsizeof(torch.empty(0).untyped_storage())
"""torchinfo's input size is sys.getsizeof(storage): the data bytes plus this object overhead."""

ACTIVATION_SHAPE = [2, 4, 6]
"""Every activation's input: 4 channels at dim 1 (prelu's parameters), an even last dim (glu)."""


def _act(name: str, **args: Any) -> tuple[dict[str, Any], list[int]]:
    return {"type": "activation", "name": name, **args}, ACTIVATION_SHAPE


SINGLE: list[tuple[dict[str, Any], list[int]]] = [
    ({"type": "conv1d", "in_channels": 2, "out_channels": 3, "kernel_size": 3}, [2, 2, 6]),
    (
        {"type": "conv2d", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "groups": 2},
        [2, 2, 5, 5],
    ),
    (
        {"type": "conv3d", "in_channels": 2, "out_channels": 3, "kernel_size": 2, "bias": False},
        [2, 2, 3, 4, 4],
    ),
    (
        {
            "type": "convtranspose1d",
            "in_channels": 2,
            "out_channels": 3,
            "kernel_size": 3,
            "stride": 2,
        },
        [2, 2, 4],
    ),
    (
        {
            "type": "convtranspose2d",
            "in_channels": 2,
            "out_channels": 4,
            "kernel_size": 3,
            "stride": 2,
            "groups": 2,
        },
        [2, 2, 3, 3],
    ),
    (
        {"type": "convtranspose3d", "in_channels": 2, "out_channels": 3, "kernel_size": 2},
        [2, 2, 2, 3, 3],
    ),
    ({"type": "maxpool1d", "kernel_size": 3, "stride": 2}, [2, 3, 7]),
    ({"type": "maxpool2d", "kernel_size": 2}, [2, 3, 4, 4]),
    ({"type": "maxpool3d", "kernel_size": 2}, [2, 2, 4, 4, 4]),
    ({"type": "avgpool1d", "kernel_size": 3, "stride": 2, "padding": 1}, [2, 3, 7]),
    ({"type": "avgpool2d", "kernel_size": 2}, [2, 3, 4, 4]),
    ({"type": "avgpool3d", "kernel_size": 2}, [2, 2, 4, 4, 4]),
    ({"type": "adaptiveavgpool1d", "output_size": 3}, [2, 3, 7]),
    ({"type": "adaptiveavgpool2d", "output_size": [2, 3]}, [2, 3, 5, 7]),
    ({"type": "adaptiveavgpool3d", "output_size": [1, 2, 2]}, [2, 2, 3, 4, 5]),
    ({"type": "adaptivemaxpool1d", "output_size": 3}, [2, 3, 7]),
    ({"type": "adaptivemaxpool2d", "output_size": 2}, [2, 3, 5, 5]),
    ({"type": "adaptivemaxpool3d", "output_size": 2}, [2, 2, 3, 4, 5]),
    ({"type": "lppool1d", "norm_type": 2.0, "kernel_size": 2}, [2, 3, 6]),
    ({"type": "lppool2d", "norm_type": 1.5, "kernel_size": 2}, [2, 3, 4, 4]),
    ({"type": "batchnorm1d", "num_features": 3}, [4, 3, 5]),
    ({"type": "batchnorm2d", "num_features": 3}, [2, 3, 4, 4]),
    ({"type": "batchnorm3d", "num_features": 3, "affine": False}, [2, 3, 2, 3, 3]),
    ({"type": "instancenorm1d", "num_features": 3, "affine": True}, [2, 3, 5]),
    ({"type": "instancenorm2d", "num_features": 3}, [2, 3, 4, 4]),
    (
        {"type": "instancenorm3d", "num_features": 2, "affine": True, "track_running_stats": True},
        [2, 2, 3, 3, 3],
    ),
    ({"type": "layernorm", "normalized_shape": [3, 4]}, [2, 3, 4]),
    ({"type": "groupnorm", "num_groups": 2, "num_channels": 4}, [2, 4, 3, 3]),
    ({"type": "localresponsenorm", "size": 3}, [2, 4, 3, 3]),
    ({"type": "dropout", "p": 0.5}, [2, 5]),
    ({"type": "dropout1d", "p": 0.5}, [2, 3, 5]),
    ({"type": "dropout2d", "p": 0.5}, [2, 3, 4, 4]),
    ({"type": "dropout3d", "p": 0.5}, [2, 2, 3, 3, 3]),
    ({"type": "alphadropout", "p": 0.3}, [2, 5]),
    ({"type": "flatten"}, [2, 3, 4]),
    ({"type": "unflatten", "dim": 1, "unflattened_size": [2, 3]}, [2, 6]),
    ({"type": "identity"}, [2, 3]),
    ({"type": "upsample", "scale_factor": 2, "mode": "bilinear"}, [1, 2, 3, 3]),
    ({"type": "pixelshuffle", "upscale_factor": 2}, [2, 8, 3, 3]),
    ({"type": "pixelunshuffle", "downscale_factor": 2}, [2, 2, 4, 6]),
    ({"type": "zeropad1d", "padding": 2}, [2, 3, 4]),
    ({"type": "zeropad2d", "padding": [1, 0, 2, 1]}, [2, 3, 3, 3]),
    ({"type": "zeropad3d", "padding": 1}, [2, 2, 2, 2, 2]),
    ({"type": "linear", "in_features": 4, "out_features": 3}, [2, 4]),
    ({"type": "embedding", "num_embeddings": 6, "embedding_dim": 4}, [2, 5]),
    _act("relu"),
    _act("relu6"),
    _act("leaky_relu", negative_slope=0.2),
    _act("prelu", num_parameters=4),
    _act("elu", alpha=0.5),
    _act("celu", alpha=2.0),
    _act("selu"),
    _act("gelu", approximate="tanh"),
    _act("silu"),
    _act("mish"),
    _act("hardswish"),
    _act("hardsigmoid"),
    _act("hardtanh", min_val=-0.5, max_val=2.0),
    _act("hardshrink", lambd=0.3),
    _act("softshrink", lambd=0.3),
    _act("softplus", beta=2.0, threshold=1.0),
    _act("sigmoid"),
    _act("logsigmoid"),
    _act("tanh"),
    _act("tanhshrink"),
    _act("softsign"),
    _act("threshold", threshold=0.1, value=-2.0),
    _act("glu"),
    _act("softmax"),
    _act("log_softmax", dim=1),
    _act("softmin"),
]
"""One valid spec of every type and activation, with a small batched input."""

INTEGER_INPUT = {"embedding"}
"""Types that take indices: the request says `input_dtype: int64`, torchinfo `dtypes=[long]`."""


def _ids(layers: list[dict[str, Any]]) -> str:
    return "-".join(tag(spec) for spec in layers)


PIPELINES: list[tuple[list[dict[str, Any]], list[int]]] = [
    (
        [
            {"type": "conv3d", "in_channels": 1, "out_channels": 2, "kernel_size": 3},
            {"type": "batchnorm3d", "num_features": 2},
            {"type": "maxpool3d", "kernel_size": 2},
            {"type": "dropout3d", "p": 0.2},
            {"type": "flatten"},
            {"type": "linear", "in_features": 16, "out_features": 3},
        ],
        [2, 1, 6, 6, 6],
    ),
    (
        [
            {"type": "embedding", "num_embeddings": 10, "embedding_dim": 5},
            {"type": "conv1d", "in_channels": 4, "out_channels": 3, "kernel_size": 3},
            {"type": "instancenorm1d", "num_features": 3, "affine": True},
            {"type": "activation", "name": "softplus"},
            {"type": "flatten"},
            {"type": "linear", "in_features": 9, "out_features": 2},
        ],
        [2, 4],
    ),
    (
        [
            {"type": "linear", "in_features": 6, "out_features": 12},
            {"type": "unflatten", "dim": 1, "unflattened_size": [3, 4]},
            {"type": "convtranspose1d", "in_channels": 3, "out_channels": 2, "kernel_size": 3},
            {"type": "zeropad1d", "padding": 1},
            {"type": "lppool1d", "norm_type": 2.0, "kernel_size": 2},
            {"type": "activation", "name": "glu", "dim": 1},
            {"type": "adaptivemaxpool1d", "output_size": 2},
            {"type": "flatten"},
        ],
        [2, 6],
    ),
    (
        [
            {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3, "padding": 1},
            {"type": "pixelunshuffle", "downscale_factor": 2},
            {"type": "identity"},
            {"type": "activation", "name": "hardshrink"},
            {"type": "unflatten", "dim": 1, "unflattened_size": [2, 4]},
            {"type": "convtranspose3d", "in_channels": 2, "out_channels": 1, "kernel_size": 2},
            {"type": "zeropad3d", "padding": [0, 1, 0, 0, 1, 0]},
            {"type": "avgpool3d", "kernel_size": 2},
            {"type": "adaptiveavgpool3d", "output_size": [1, 2, 1]},
            {"type": "flatten"},
            {"type": "alphadropout", "p": 0.1},
            {"type": "activation", "name": "logsigmoid"},
            {"type": "activation", "name": "softmin"},
        ],
        [2, 1, 4, 4],
    ),
    (
        [
            {"type": "avgpool1d", "kernel_size": 2},
            {"type": "maxpool1d", "kernel_size": 2, "stride": 1},
            {"type": "dropout1d", "p": 0.3},
            {"type": "adaptiveavgpool1d", "output_size": 2},
            {"type": "activation", "name": "softshrink"},
            {"type": "flatten"},
        ],
        [3, 2, 9],
    ),
]
"""Pipelines with the types that no generated pipeline has in the middle of others."""


def tag(spec: dict[str, Any]) -> str:
    """A raw spec's vocabulary tag, as schemas.layer_specs.type_name names spec classes."""
    kind = str(spec["type"])
    return f"activation:{spec['name']}" if kind == "activation" else kind


def summarize(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], mode: str, fmt: str = ""
) -> Any:
    """POST /v1/models/summary for `layers` on `shape`, indices when the first layer wants them."""
    request: dict[str, Any] = {"layers": layers, "input_shape": shape, "mode": mode}
    if tag(layers[0]) in INTEGER_INPUT:
        request["input_dtype"] = "int64"
    response = client.post(f"/v1/models/summary{fmt}", json=request)
    assert response.status_code == 200, response.text
    return response


def torchinfos(
    layers: list[dict[str, Any]], shape: list[int], mode: str
) -> tuple[nn.Sequential, Reference]:
    """The pipeline as nn.Sequential from torch.nn, and torchinfo's summary of it (with
    FlopCounterMode's counts of the same pass) on the CPU in `mode`."""
    torch.manual_seed(0)
    model = nn.Sequential(*(torch_layer(spec) for spec in layers))
    dtypes = [torch.long] if tag(layers[0]) in INTEGER_INPUT else None
    return model, reference(model, shape, "cpu", mode=mode, dtypes=dtypes)


def check(client: TestClient, layers: list[dict[str, Any]], shape: list[int], mode: str) -> None:
    """The JSON and text summaries equal torchinfo's and FlopCounterMode's."""
    body = summarize(client, layers, shape, mode).json()
    model, ref = torchinfos(layers, shape, mode)
    assert table_rows(body) == torchinfo_rows(ref, 3)
    rows, infos = body["layers"], ref.rows(3)[1:]
    # the API's type, an activation's by its name (`relu`)
    types = [tag(spec).removeprefix("activation:") for spec in layers]
    assert [(row["index"], row["type"]) for row in rows] == list(enumerate(types))
    assert [row["input_shape"] for row in rows] == [info.input_size for info in infos]
    assert [row["parameter_bytes"] for row in rows] == [info.param_bytes for info in infos]
    assert [row["output_bytes"] for row in rows] == [info.output_bytes for info in infos]
    assert [row["class_name"] for row in rows] == [type(layer).__name__ for layer in model]
    assert [row["repr"] for row in rows] == [repr(layer) for layer in model]
    assert [row["flops"] for row in rows] == ref.row_flops()[1:]
    assert table_flops(body) == torchinfo_flops(ref, 3)
    totals = body["summary"]
    check_totals(totals, ref)
    assert totals["input_shape"] == shape
    input_bytes = ref.stats.total_input - STORAGE_OVERHEAD
    assert totals["input_bytes"] == input_bytes
    assert totals["total_bytes"] == (
        input_bytes + ref.stats.total_output_bytes + ref.stats.total_param_bytes
    )
    text = summarize(client, layers, shape, mode, "?format=text").text.splitlines()
    expected = ref.expected_text(3)
    assert text[: len(expected)] == expected
    assert text[len(expected) :] == [f"Warning: {warning}" for warning in body["warnings"]]


def test_the_table_has_every_type_the_schema_offers() -> None:
    """A type added to the schema without a row here fails; so does a row for no type."""
    offered = [type_name(spec) for spec in ALL_SPECS]
    assert [tag(spec) for spec, _ in SINGLE] == offered
    in_pipelines = {tag(spec) for layers, _ in PIPELINES for spec in layers}
    assert in_pipelines <= set(offered)


def test_flops_are_compared_where_flop_counter_mode_counts_any() -> None:
    """FlopCounterMode has formulas for matmuls and convolutions only (service/planning/flops.py):
    the FLOPs checks above compare non-zero counts for exactly these types, 0 for the rest."""
    counted = {tag(spec) for spec, shape in SINGLE if torchinfos([spec], shape, "eval")[1].flops}
    assert counted == {
        *(f"conv{n}d" for n in (1, 2, 3)),
        *(f"convtranspose{n}d" for n in (1, 2, 3)),
        "linear",
    }


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(("spec", "shape"), SINGLE, ids=[tag(spec) for spec, _ in SINGLE])
def test_each_type_alone_equals_torchinfo(
    client: TestClient, spec: dict[str, Any], shape: list[int], mode: str
) -> None:
    check(client, [spec], shape, mode)


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(("layers", "shape"), PIPELINES, ids=[_ids(ls) for ls, _ in PIPELINES])
def test_types_in_a_pipeline_equal_torchinfo(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], mode: str
) -> None:
    check(client, layers, shape, mode)
