"""service/inspection/summary.py: the text table is torchinfo's, line for line, plus FLOPs."""

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.utils._pytree as pytree
from fastapi.testclient import TestClient
from torch.utils._python_dispatch import TorchDispatchMode

from schemas.examples import SEED_PIPELINE
from service.inspection import summary
from service.inspection.summary import render_text
from service.networks import zoo
from service.planning.fit import Received
from service.planning.tree_plan import plan_tree
from service.routes import models as model_routes
from tests.odd_modules import ODD_MODULES
from tests.pipelines import PIPELINES, direct_model
from tests.torchinfo_reference import meta_model, reference

CASES = [(SEED_PIPELINE, [1, 1, 28, 28]), *PIPELINES[::4]]


def torchinfo_lines(layers: list[dict[str, Any]], shape: list[int]) -> list[str]:
    """torchinfo's own table of the same pipeline built from torch.nn, as lines."""
    return reference(direct_model(layers), shape, "cpu").text(3)


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


class RealTensors(TorchDispatchMode):
    """Every ATen op that runs while active (in its thread) is counted, and each one that
    returns a tensor off the meta device (one with memory) is recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.ops = 0
        self.real: list[tuple[str, list[int]]] = []

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        out = func(*args, **(kwargs or {}))
        self.ops += 1
        for value in pytree.tree_leaves(out):
            if isinstance(value, torch.Tensor) and value.device.type != "meta":
                self.real.append((f"{func} on {value.device}", list(value.shape)))
        return out


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> list[RealTensors]:
    """The summary route's work (JSON and text) runs under a RealTensors mode, entered in the
    thread that answers the request; the modes, one per request."""
    modes: list[RealTensors] = []

    def watch(work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            mode = RealTensors()
            modes.append(mode)
            with mode:
                return work(*args, **kwargs)

        return run

    monkeypatch.setattr(model_routes, "summarize_model", watch(summary.summarize_model))
    monkeypatch.setattr(model_routes, "summary_text", watch(summary.summary_text))
    return modes


@pytest.mark.parametrize(
    "request_body",
    [
        {"model": {"torchvision": "resnet50"}, "input_shape": [64, 3, 224, 224]},
        {"model": {"torchvision": "convnext_large"}},
        {"model": {"torchvision": "vit_h_14"}},
    ],
    ids=["resnet50-64", "convnext_large", "vit_h_14"],
)
def test_summary_creates_no_tensor_with_memory(
    client: TestClient, watched: list[RealTensors], request_body: dict[str, Any]
) -> None:
    """Building the model, its forward pass with FLOPs counted, the table and the text: every
    tensor on meta."""
    as_json = client.post("/v1/models/summary", json=request_body)
    as_text = client.post("/v1/models/summary?format=text", json=request_body)
    assert as_json.status_code == as_text.status_code == 200
    assert len(watched) == 2
    for mode in watched:
        assert mode.ops > 1000  # the mode saw the build and the forward pass
        assert mode.real == []


def test_regnet_summary_creates_only_its_width_arithmetic(
    client: TestClient, watched: list[RealTensors]
) -> None:
    """RegNet's builder computes its stage widths with tensors (one number per block) and reads
    them with `.tolist()`: those few numbers are real; every parameter and activation is on
    meta. regnet_y_128gf: 27 blocks, 644,812,894 parameters."""
    response = client.post("/v1/models/summary", json={"model": {"torchvision": "regnet_y_128gf"}})
    assert response.status_code == 200
    assert response.json()["summary"]["parameter_count"] == 644_812_894
    (mode,) = watched
    assert mode.ops > 1000
    assert mode.real, "the widths are computed on the CPU"
    assert all(len(shape) <= 1 and sum(shape) <= 27 for _, shape in mode.real), mode.real
