"""schemas/responses.py: real responses of the service validate against their models."""

import pytest
import torch
from fastapi.testclient import TestClient

from schemas.responses import Health, Info, LayerInspectResponse
from service.running import execution
from tests.helpers import FakeClock


def test_layer_inspect_response_validates(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "layer": {"type": "linear", "in_features": 3, "out_features": 2},
        "input": {"shape": [1, 3], "seed": 0},
        "backward": {"target": "sum"},
    }
    # forward from 1.0 to 1.25, backward from 2.0 to 2.5
    monkeypatch.setattr(execution, "time", FakeClock(1.0, 1.25, 2.0, 2.5))
    r = LayerInspectResponse.model_validate(client.post("/v1/layers/inspect", json=body).json())
    assert r.layer.repr == repr(torch.nn.Linear(3, 2))
    assert (r.layer.parameter_count, r.layer.trainable_parameter_count) == (8, 8)
    assert (r.seeds.input, r.seeds.weights) == (0, 0)
    assert (r.timing_ms.forward_ms, r.timing_ms.backward_ms) == (250.0, 500.0)
    assert r.output.grad_fn == "AddmmBackward0"
    assert list(r.parameters) == ["weight", "bias"]


def test_info_and_health_validate(client: TestClient) -> None:
    info = Info.model_validate(client.get("/v1/info").json())
    assert info.torch == torch.__version__
    assert Health.model_validate(client.get("/healthz").json()).status == "ok"
