"""service/inspection/summary.py: the text table is torchinfo's, line for line, plus FLOPs."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from schemas.examples import SEED_PIPELINE
from service.inspection.summary import render_text
from service.networks import zoo
from service.planning.fit import Received
from service.planning.tree_plan import plan_tree
from tests.odd_modules import ODD_MODULES
from tests.pipelines import PIPELINES, direct_model
from tests.torchinfo_reference import meta_model, reference

CASES = [(SEED_PIPELINE, [1, 1, 28, 28]), *PIPELINES[::4]]


@pytest.mark.parametrize(("layers", "shape"), CASES)
def test_text_table_is_torchinfos_with_a_flops_column(
    client: TestClient, layers: list[dict[str, Any]], shape: list[int]
) -> None:
    request = {"layers": layers, "input_shape": shape}
    response = client.post("/v1/models/summary?format=text", json=request)
    assert response.headers["content-type"].startswith("text/plain")
    expected = reference(direct_model(layers), shape, "cpu").expected_text(3)
    lines = response.text.splitlines()
    assert lines[: len(expected)] == expected
    warnings = client.post("/v1/models/summary", json=request).json()["warnings"]
    assert lines[len(expected) :] == [f"Warning: {warning}" for warning in warnings]


TEXT_ARCHITECTURES = [
    "efficientnet_b0",  # depth 6 below: the name column sized by rows not shown
    "googlenet",  # the model's own leftover: the auxiliary classifiers that do not run
    "inception_v3",
    "maxvit_t",  # ModuleLists that never run, listed above their children; 9 deep
    "resnet18",  # ReLU called three times a block: recursive rows
    "swin_t",  # a container whose children never run (its leftover)
    "vit_b_16",  # a class token on the model; attention returning a tuple
]


@pytest.mark.parametrize("name", TEXT_ARCHITECTURES)
def test_text_table_of_an_architecture_is_torchinfos(client: TestClient, name: str) -> None:
    ref = reference(meta_model(name), zoo.architecture(name).input_size, "meta")
    for depth in (1, 2, 3):
        response = client.post(
            "/v1/models/summary?format=text",
            json={"model": {"torchvision": name}, "depth": depth},
        )
        assert response.headers["content-type"].startswith("text/plain")
        assert response.text.splitlines() == ref.expected_text(depth), f"{name} at {depth}"


@pytest.mark.parametrize("name", ODD_MODULES)
def test_text_table_of_odd_modules_is_torchinfos(name: str) -> None:
    """`(recursive)` counts, containers listed twice (one depth-index for both), leftovers,
    frozen counts in parentheses, rows deeper than shown: as torchinfo prints them."""
    make, size = ODD_MODULES[name]
    with torch.device("meta"):
        ours, theirs = make(), make()
    tree = plan_tree(ours, Received(size), 1 << 40, field="body.model")
    ref = reference(theirs, size, "meta")
    for depth in (1, 2, 3, 4):
        assert render_text(tree, depth).splitlines() == ref.expected_text(depth), depth
