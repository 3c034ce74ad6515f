"""bench.model_case and bench.floor_app: the model case's floor keeps exactly the tensors the
service returns, and the floor server validates the service's request models."""

from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load

from bench import http_bench, model_case
from bench.floor_app import app as floor_app

SHAPE = [1, 3, 64, 64]  # the model case's resnet18 on a smaller input, for the test


def _service_tensors(client: TestClient, backward: bool) -> dict[str, torch.Tensor]:
    body: dict[str, Any] = model_case.model_body("cpu", backward)
    body["input"]["shape"] = SHAPE
    r = client.post("/v1/models/inspect", json=body)
    assert r.status_code == 200, r.text[:500]
    return load(r.content)


def _key(name: str, call: int) -> str:
    return f"layers.{name}@{call}" if call else f"layers.{name}"


@pytest.mark.parametrize("backward", [False, True], ids=["forward", "backward"])
def test_the_hooked_floor_keeps_what_the_service_returns(
    client: TestClient, backward: bool
) -> None:
    served = _service_tensors(client, backward)
    run = model_case.HookedRun(
        model_case.seeded_model(torch.device("cpu")), torch.device("cpu"), backward, SHAPE
    )
    run.run()
    outputs = {f"{_key(*k)}.output": t for k, t in run.outputs.items()}
    assert len(outputs) > 60  # every module of resnet18, the blocks' second ReLU calls too
    assert outputs.keys() == {k for k in served if k.endswith(".output")}
    for key, t in outputs.items():
        torch.testing.assert_close(served[key], t, msg=key)
    if backward:
        grads = {f"{_key(*k)}.output.grad": t for k, t in run.grads.items()}
        assert grads.keys() == {k for k in served if k.startswith("layers.") and ".grad" in k}
        for key, g in grads.items():
            torch.testing.assert_close(served[key], g, msg=key)
        for name, p in run.model.named_parameters():
            assert p.grad is not None
            torch.testing.assert_close(served[f"parameters.{name}.grad"], p.grad, msg=name)
    else:
        assert not any(".grad" in k for k in served)


def test_the_floor_server_validates_the_services_request_models() -> None:
    body = http_bench.small_body("cpu")
    with TestClient(floor_app) as floor:
        ok = floor.post("/v1/layers/inspect?bytes=1234", json=body)
        assert ok.status_code == 200 and len(ok.content) == 1234
        twin = floor.post("/async/v1/layers/inspect?bytes=7", json=body)
        assert twin.status_code == 200 and len(twin.content) == 7
        wrong = body | {"layer": body["layer"] | {"kernal_size": 5}}
        assert floor.post("/v1/layers/inspect?bytes=1", json=wrong).status_code == 422
        model = model_case.model_body("cpu", backward=True)
        assert len(floor.post("/v1/models/inspect?bytes=99", json=model).content) == 99
        assert floor.post("/v1/models/inspect?bytes=1", json=body).status_code == 422
