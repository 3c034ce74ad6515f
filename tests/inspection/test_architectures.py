"""torchvision architectures through /v1/models/inspect: every selected module's activation and
output gradient, every parameter and its gradient, equal the same model run directly with hooks
(tests/torchvision_direct.py); seeds reproduce to the byte; uploaded safetensors weights give
exactly what `load_state_dict` with them gives; train mode draws what `forward_seed` seeds."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient
from safetensors.torch import save

from service.app import create_app
from tests.conftest import make_settings
from tests.helpers import tensor_from
from tests.torchvision_direct import (
    build,
    check_run,
    exact,
    perturbed_state,
    run,
    selected_names,
)


@dataclass(frozen=True)
class Case:
    """An architecture at a small input, and the modules a request selects of it."""

    name: str
    shape: list[int]
    select: list[str]
    kwargs: dict[str, Any] = field(default_factory=dict)
    upload_select: list[str] = field(default_factory=list)
    """What the safetensors request selects (a few modules, the last among them)."""


CASES = [
    Case("resnet18", [1, 3, 32, 32], ["*"], upload_select=["conv1", "layer1.0.relu", "fc"]),
    Case("mobilenet_v3_small", [1, 3, 32, 32], ["*"], upload_select=["features.0", "classifier"]),
    Case("efficientnet_b0", [1, 3, 32, 32], ["*"], upload_select=["features.1", "classifier"]),
    Case(
        "densenet121", [1, 3, 32, 32], ["*"], upload_select=["features.denseblock1", "classifier"]
    ),
    Case(
        "vit_b_16",
        [1, 3, 32, 32],
        [
            "conv_proj",
            "encoder.dropout",
            "encoder.layers.encoder_layer_0",
            "encoder.layers.encoder_layer_0.*",
            "encoder.layers.encoder_layer_11.mlp*",
            "encoder.ln",
            "heads*",
        ],
        kwargs={"image_size": 32},
        upload_select=["encoder.layers.encoder_layer_0.self_attention", "heads"],
    ),
    Case(
        "swin_t",
        [1, 3, 32, 32],
        [
            "features.0*",
            "features.1.0*",
            "features.2*",
            "features.7.1.mlp*",
            "norm",
            "permute",
            "avgpool",
            "flatten",
            "head",
        ],
        upload_select=["features.1.0.attn", "head"],
    ),
]
IDS = [case.name for case in CASES]


@pytest.fixture(scope="module")
def big() -> Iterator[TestClient]:
    """An app whose element limit holds ViT-B/16 with its gradients (174 M elements; the
    default 64 M refuses it, see test_architecture_limits.py)."""
    app = create_app(make_settings(max_total_elements=200_000_000))
    with TestClient(app) as c:
        app.state.runtime.ready.wait(timeout=60)
        yield c


def request(case: Case, **more: Any) -> dict[str, Any]:
    """The inspect request of a case: seeds 1 (input) and 2 (weights), backward of the sum."""
    return {
        "model": {"torchvision": case.name, "kwargs": case.kwargs},
        "input": {"shape": case.shape, "seed": 1},
        "weights": {"seed": 2},
        "select": case.select,
        "backward": {"target": "sum"},
        "encoding": "base64",
    } | more


def inspect(client: TestClient, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post("/v1/models/inspect", json=body)
    assert r.status_code == 200, r.text[:2000]
    result: dict[str, Any] = r.json()
    return result


def value_bytes(body: dict[str, Any]) -> list[Any]:
    """Every tensor's base64 bytes in a response, in order (timings left out)."""
    found = []
    for row in body["layers"]:
        out = row["output"]
        if out is not None:
            found += [row["name"], out["data_b64"], (out["grad"] or {}).get("data_b64")]
        for name, obj in row["parameters"].items():
            found += [name, obj["data_b64"], (obj["grad"] or {}).get("data_b64")]
    for name, obj in body["parameters"].items():
        found += [name, obj["data_b64"], (obj["grad"] or {}).get("data_b64")]
    return [*found, body["input"]["data_b64"], body["input"]["grad"]["data_b64"]]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_selected_module_equals_the_direct_run(big: TestClient, case: Case) -> None:
    body = inspect(big, request(case))
    direct = run(build(case.name, case.kwargs, 2), case.shape, 1)
    assert check_run(body, direct, case.select) >= 8
    assert body["seeds"] == {"input": 1, "weights": 2, "forward": 0}
    assert body["summary"]["parameter_count"] == sum(p.numel() for p in direct.model.parameters())
    last = max(body["layers"], key=lambda row: row["index"] if row["selected"] else -1)
    if last["depth"] == 1 and last["name"] == direct.names()[-1]:
        exact(tensor_from(last["output"]), direct.y)
    if case.name == "vit_b_16":
        # torchvision's builder leaves image_size to the caller when weights=None: a 32 x 32
        # image is 4 patches and the class token, the model's own parameter (no module holds
        # it), which check_run found at the top level with its gradient
        ln = next(row for row in body["layers"] if row["name"] == "encoder.ln")
        assert ln["output_shape"] == [1, 5, 768]
        assert set(body["parameters"]) == {"class_token"}
    # the same request again: the same bytes
    assert value_bytes(inspect(big, request(case))) == value_bytes(body)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_uploaded_safetensors_weights_equal_load_state_dict(big: TestClient, case: Case) -> None:
    model = build(case.name, case.kwargs, 2)
    state = perturbed_state(model, 3)
    model.load_state_dict(state)
    direct = run(model, case.shape, 1, backward=False)
    spec = request(case, select=case.upload_select, include=["output", "buffers"], backward=None)
    del spec["weights"]
    r = big.post(
        "/v1/models/inspect/upload",
        data={"spec": json.dumps(spec)},
        files={"weights": ("w.safetensors", save(state), "application/octet-stream")},
    )
    assert r.status_code == 200, r.text[:2000]
    body = r.json()
    assert body["seeds"]["weights"] is None
    rows = [row for row in body["layers"] if row["selected"]]
    assert {row["name"] for row in rows} == selected_names(direct, case.upload_select)
    for row in rows:
        exact(tensor_from(row["output"]), direct.calls[(row["name"], row["call"])].output)
    last = direct.calls[(case.upload_select[-1], 0)].output
    exact(last, direct.y)  # the last module selected gives the model's output
    buffers = {n: obj for row in rows for n, obj in row["buffers"].items()}
    for name, obj in buffers.items():
        exact(tensor_from(obj), state[name])


TRAIN_CASES = [
    # batch norms (batch statistics, running ones updated) and classifier dropout
    Case("mobilenet_v3_small", [2, 3, 32, 32], ["*"]),
    # stochastic depth (torch.rand per sample) and no nn.Dropout at all
    Case("convnext_tiny", [2, 3, 32, 32], ["features.1.*", "classifier.2"]),
]


@pytest.mark.parametrize("case", TRAIN_CASES, ids=[case.name for case in TRAIN_CASES])
def test_train_mode_draws_what_forward_seed_seeds(big: TestClient, case: Case) -> None:
    body = inspect(big, request(case, mode="train", forward_seed=9))
    assert body["mode"] == "train" and body["seeds"]["forward"] == 9
    direct = run(build(case.name, case.kwargs, 2), case.shape, 1, train=True, forward_seed=9)
    check_run(body, direct, case.select)
    assert value_bytes(inspect(big, request(case, mode="train", forward_seed=9))) == value_bytes(
        body
    )
    other = inspect(big, request(case, mode="train", forward_seed=10))
    assert value_bytes(other) != value_bytes(body)  # the seed matters: randomness is drawn
