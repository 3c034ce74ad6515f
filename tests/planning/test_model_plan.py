"""The meta walk and /v1/models/summary: shapes, parameters and bytes equal torchinfo's."""

import sys
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary as torchinfo_summary

from schemas.examples import SEED_PIPELINE, SEED_PIPELINE_SHAPES, SUMMARY_EXAMPLES
from tests.pipelines import MIXED_PIPELINES, PIPELINES, direct_model

STORAGE_OVERHEAD = sys.getsizeof(torch.UntypedStorage(0))
"""torchinfo's input size is sys.getsizeof(storage): the data bytes plus this object overhead."""


def post_summary(client: TestClient, layers: list[dict[str, Any]], shape: list[int]) -> Any:
    response = client.post("/v1/models/summary", json={"layers": layers, "input_shape": shape})
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(("layers", "shape"), PIPELINES)
def test_table_equals_torchinfo(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int]
) -> None:
    body = post_summary(client, layers, shape)
    model = direct_model(layers)
    stats = torchinfo_summary(model, input_size=tuple(shape), verbose=0, device="cpu")
    leaves = [info for info in stats.summary_list if info.depth == 1]
    assert len(leaves) == len(body["layers"]) == len(layers)
    for row, info in zip(body["layers"], leaves, strict=True):
        assert row["name"] == info.var_name
        assert row["input_shape"] == info.input_size
        assert row["output_shape"] == info.output_size
        assert row["parameter_count"] == info.num_params
        assert row["trainable_parameter_count"] == info.trainable_params
        assert row["parameter_bytes"] == info.param_bytes
        assert row["output_bytes"] == info.output_bytes
        assert row["repr"] == repr(model[row["index"]])
    totals = body["summary"]
    assert totals["input_shape"] == shape
    assert totals["output_shape"] == leaves[-1].output_size
    assert totals["parameter_count"] == stats.total_params
    assert totals["trainable_parameter_count"] == stats.trainable_params
    assert totals["parameter_bytes"] == stats.total_param_bytes
    assert totals["forward_backward_bytes"] == stats.total_output_bytes
    assert totals["input_bytes"] == stats.total_input - STORAGE_OVERHEAD
    assert totals["total_bytes"] == (
        stats.total_input - STORAGE_OVERHEAD + stats.total_output_bytes + stats.total_param_bytes
    )


@pytest.mark.parametrize(("layers", "shape"), PIPELINES[:12])
def test_flops_equal_flop_counter_mode(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int]
) -> None:
    body = post_summary(client, layers, shape)
    model = direct_model(layers)
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(shape))
    counts = counter.get_flop_counts()
    for row in body["layers"]:
        expected = sum(counts.get(f"Sequential.{row['index']}", {}).values())
        assert row["flops"] == expected
    assert body["summary"]["flops"] == counter.get_total_flops()


def test_seed_pipeline_table(client: TestClient) -> None:
    body = post_summary(client, SEED_PIPELINE, [1, 1, 28, 28])
    assert [row["output_shape"] for row in body["layers"]] == SEED_PIPELINE_SHAPES
    assert [row["parameter_count"] for row in body["layers"]] == [520, 0, 0, 0, 28810, 0]
    # conv: 2 * (20*24*24 outputs) * (1*5*5 taps); linear: 2 * 10 * 2880; others count 0
    assert [row["flops"] for row in body["layers"]] == [576000, 0, 0, 0, 57600, 0]
    assert body["summary"]["parameter_bytes"] == 29330 * 4
    assert body["warnings"] == []


def test_large_input_on_meta(client: TestClient) -> None:
    """64 x 3 x 1024 x 1024 on meta: nothing is allocated (its speed: bench/summary_speed.py)."""
    example = SUMMARY_EXAMPLES["large_batch"]["value"]
    body = post_summary(client, example["layers"], example["input_shape"])
    assert body["summary"]["input_bytes"] == 64 * 3 * 1024 * 1024 * 4
    assert body["layers"][0]["output_shape"] == [64, 16, 1024, 1024]
    assert body["summary"]["output_shape"] == [64, 10]
    # conv: 2 * outputs * in_channels * 3 * 3; linear: 2 * 64 * 1024 * 10
    assert body["summary"]["flops"] == 2 * 64 * 16 * 1024 * 1024 * 27 + 2 * 64 * 1024 * 10


def test_misfit_names_index_shape_and_fix(client: TestClient) -> None:
    layers = [*SEED_PIPELINE[:4], {"type": "linear", "in_features": 784, "out_features": 10}]
    response = client.post(
        "/v1/models/summary", json={"layers": layers, "input_shape": [1, 1, 28, 28]}
    )
    assert response.status_code == 422
    problem = response.json()
    assert problem["detail"] == (
        "layer 4 (linear) expects 784 input features (the last dimension) but receives "
        "[1, 2880]; set in_features=2880"
    )
    assert problem["errors"][0]["field"] == "body.layers.4"
    assert problem["context"]["received"] == [1, 2880]
    assert problem["context"]["layer"]["in_features"] == 784


def test_misfit_channels_names_layer(client: TestClient) -> None:
    layers = [
        {"type": "conv2d", "in_channels": 1, "out_channels": 8, "kernel_size": 3},
        {"type": "activation", "name": "relu"},
        {"type": "conv2d", "in_channels": 4, "out_channels": 8, "kernel_size": 3},
    ]
    response = client.post(
        "/v1/models/summary", json={"layers": layers, "input_shape": [2, 1, 9, 9]}
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("layer 2 (conv2d) expects 4 input channels")
    assert "[2, 8, 7, 7]" in detail and "set in_channels=8" in detail


def test_warns_when_stride_drops_rows_and_columns(client: TestClient) -> None:
    conv = {"type": "conv2d", "in_channels": 3, "out_channels": 8, "kernel_size": 3, "stride": 2}
    dropping = post_summary(client, [conv], [1, 3, 32, 31])
    # height: (32 - 2 - 1) = 29, odd: the last row is never seen; width: 28, even: fine
    assert len(dropping["warnings"]) == 1
    assert dropping["warnings"][0].startswith("layer 0 (conv2d) drops bottom rows")
    assert "= 29 is not divisible by stride 2" in dropping["warnings"][0]
    assert "31 or 33" in dropping["warnings"][0]
    assert post_summary(client, [conv], [1, 3, 33, 31])["warnings"] == []

    pool = {"type": "maxpool2d", "kernel_size": 2}
    assert len(post_summary(client, [pool], [1, 1, 7, 7])["warnings"]) == 2
    assert post_summary(client, [pool], [1, 1, 8, 8])["warnings"] == []
    # ceil_mode keeps a last, partial window: nothing is dropped
    assert post_summary(client, [{**pool, "ceil_mode": True}], [1, 1, 7, 7])["warnings"] == []
    # stride 1 never drops; activations never warn
    assert post_summary(client, SEED_PIPELINE, [1, 1, 28, 28])["warnings"] == []


def test_warning_when_only_padding_goes_unused(client: TestClient) -> None:
    conv = {
        "type": "conv2d",
        "in_channels": 1,
        "out_channels": 1,
        "kernel_size": 3,
        "stride": 2,
        "padding": 1,
    }
    body = post_summary(client, [conv], [1, 1, 8, 9])
    # height: 8 + 2 - 2 - 1 = 7, odd: the remainder is padding only; width 8: fine
    assert len(body["warnings"]) == 1
    assert "trailing padding go unused (no input values are lost)" in body["warnings"][0]


def test_too_large_for_meta_is_413(client: TestClient) -> None:
    layers = [{"type": "conv2d", "in_channels": 64, "out_channels": 65536, "kernel_size": 1}]
    response = client.post(
        "/v1/models/summary", json={"layers": layers, "input_shape": [4096, 64, 1024, 1024]}
    )
    assert response.status_code == 413
    # the input fits (2**38 elements); the convolution's output (2**48) does not
    context = response.json()["context"]
    assert context["shape"] == [4096, 65536, 1024, 1024]
    assert context["tensor"] == "layers.0.output (conv2d)"


def test_too_many_layers_is_422(client: TestClient) -> None:
    layers = [{"type": "activation", "name": "relu"}] * 65
    response = client.post("/v1/models/summary", json={"layers": layers, "input_shape": [1, 2]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.layers"


@pytest.mark.parametrize(("layers", "shape"), MIXED_PIPELINES)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_mixed_pipelines_equal_torchinfo_and_flop_counter_mode(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int], mode: str
) -> None:
    """The wider vocabulary (norms, pools, dropout, upsampling, ...) in both modes: shapes and
    parameter counts as torchinfo has them, FLOPs as FlopCounterMode counts them."""
    request = {"layers": layers, "input_shape": shape, "mode": mode}
    response = client.post("/v1/models/summary", json=request)
    assert response.status_code == 200, response.text
    body = response.json()
    model = direct_model(layers)
    stats = torchinfo_summary(model, input_size=tuple(shape), verbose=0, device="cpu", mode=mode)
    leaves = [info for info in stats.summary_list if info.depth == 1]
    assert [row["output_shape"] for row in body["layers"]] == [i.output_size for i in leaves]
    assert [row["parameter_count"] for row in body["layers"]] == [i.num_params for i in leaves]
    assert [row["parameter_bytes"] for row in body["layers"]] == [i.param_bytes for i in leaves]
    assert body["summary"]["parameter_count"] == stats.total_params
    assert body["summary"]["trainable_parameter_count"] == stats.trainable_params
    assert body["summary"]["forward_backward_bytes"] == stats.total_output_bytes
    model.train(mode == "train")
    counter = FlopCounterMode(display=False)
    with counter:
        model(torch.randn(shape))
    counts = counter.get_flop_counts()
    for row in body["layers"]:
        assert row["flops"] == sum(counts.get(f"Sequential.{row['index']}", {}).values())
    assert body["summary"]["flops"] == counter.get_total_flops()
