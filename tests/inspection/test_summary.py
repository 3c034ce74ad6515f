"""service/inspection/summary.py: the text table is torchinfo's, line for line, plus FLOPs."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch.utils.flop_counter import FlopCounterMode
from torchinfo import summary as torchinfo_summary

from schemas.examples import SEED_PIPELINE
from tests.pipelines import PIPELINES, direct_model

CASES = [(SEED_PIPELINE, [1, 1, 28, 28]), *PIPELINES[::4]]


def torchinfo_lines(layers: list[dict[str, Any]], shape: list[int]) -> list[str]:
    """torchinfo's own table of the same model built from torch.nn, as lines."""
    stats = torchinfo_summary(
        direct_model(layers),
        input_size=shape,
        col_names=("input_size", "output_size", "num_params"),
        verbose=0,
    )
    return str(stats).splitlines()


@pytest.mark.parametrize(("layers", "shape"), CASES)
def test_text_table_is_torchinfos_with_a_flops_column(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int]
) -> None:
    request = {"layers": layers, "input_shape": shape}
    response = client.post("/v1/models/summary?format=text", json=request)
    assert response.headers["content-type"].startswith("text/plain")
    ours, theirs = response.text.splitlines(), torchinfo_lines(layers, shape)
    rows = [i for i, line in enumerate(theirs) if line.startswith(("Sequential", "├─"))]
    assert [ours[i][: len(theirs[i])].rstrip() for i in rows] == [theirs[i] for i in rows]
    for label in (
        "Total params",
        "Trainable params",
        "Non-trainable params",
        "Input size (MB)",
        "Forward/backward pass size (MB)",
        "Params size (MB)",
        "Estimated Total Size (MB)",
    ):
        assert [line for line in ours if line.startswith(label + ":")] == [
            line for line in theirs if line.startswith(label + ":")
        ]
    counter = FlopCounterMode(display=False)
    with counter:
        direct_model(layers)(torch.randn(shape))
    assert f"Total FLOPs (forward, multiply-add = 2): {counter.get_total_flops():,}" in ours
