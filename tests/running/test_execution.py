"""Running a module: CUDA out-of-memory becomes a 503, and the next request works."""

import threading
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient
from torch import nn

from schemas.requests import TargetBackward
from service.app import create_app
from service.errors import ProblemError
from service.inspection import layer as layer_inspection
from service.running import execution
from service.running.execution import RunConfig, out_of_memory_as_503, run
from tests.conftest import make_settings
from tests.helpers import FakeClock, tensor_from

BODY = {
    "layer": {"type": "linear", "in_features": 3, "out_features": 2},
    "input": {"shape": [1, 3]},
    "backward": {"target": "sum"},
}


def test_out_of_memory_is_503() -> None:
    with pytest.raises(ProblemError) as err, out_of_memory_as_503(torch.device("cpu")):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB")
    assert err.value.status == 503
    assert err.value.headers["Retry-After"] == "1"
    assert err.value.slug == "device-out-of-memory"


def test_out_of_memory_mid_request_then_next_works(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_forward = nn.Linear.forward

    def explode(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
        if x.device.type == "meta":  # shape planning is not where memory runs out
            return real_forward(self, x)
        raise torch.cuda.OutOfMemoryError("CUDA out of memory.")

    with monkeypatch.context() as m:
        m.setattr(nn.Linear, "forward", explode)
        r = client.post("/v1/layers/inspect", json=BODY)
    assert r.status_code == 503
    assert r.json()["type"] == "/problems/device-out-of-memory"
    after = client.post("/v1/layers/inspect", json=BODY)
    assert after.status_code == 200
    # the next request runs in full: its numbers are PyTorch's (seeds 0 for input and weights)
    torch.manual_seed(0)
    linear = nn.Linear(3, 2)
    torch.manual_seed(0)
    x = torch.randn(1, 3, requires_grad=True)
    linear(x).sum().backward()
    got = after.json()
    torch.testing.assert_close(tensor_from(got["output"]), linear(x).detach())
    torch.testing.assert_close(tensor_from(got["input"]["grad"]), x.grad)


def test_forward_only_run_builds_no_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    torch.manual_seed(0)
    module = nn.Linear(2, 2)
    x = torch.tensor([[1.0, -2.0]])
    monkeypatch.setattr(execution, "time", FakeClock(3.0, 3.5))
    done = run(module, x, RunConfig(torch.device("cpu")), requires_grad=True, backward=None)
    with torch.no_grad():
        expected = x @ module.weight.T + module.bias
    torch.testing.assert_close(done.output, expected)
    assert done.output.grad_fn is None and not done.output.requires_grad
    assert done.input.grad is None
    assert (done.forward_ms, done.backward_ms) == (500.0, None)


@pytest.mark.parametrize("target", ["sum", "mean"])
def test_backward_run_keeps_output_input_and_parameter_grads(
    monkeypatch: pytest.MonkeyPatch, target: str
) -> None:
    torch.manual_seed(0)
    module = nn.Linear(3, 2)
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
    monkeypatch.setattr(execution, "time", FakeClock(1.0, 1.25, 4.0, 4.125))
    done = run(
        module,
        x,
        RunConfig(torch.device("cpu")),
        requires_grad=True,
        backward=TargetBackward(target=target),  # type: ignore[arg-type]
    )
    torch.manual_seed(0)
    direct = nn.Linear(3, 2)
    xd = x.detach().clone().requires_grad_(True)
    y = direct(xd)
    y.retain_grad()
    (y.sum() if target == "sum" else y.mean()).backward()
    torch.testing.assert_close(done.output, y)
    assert type(done.output.grad_fn).__name__ == "AddmmBackward0"
    torch.testing.assert_close(done.output.grad, y.grad)
    torch.testing.assert_close(done.input.grad, xd.grad)
    torch.testing.assert_close(module.weight.grad, direct.weight.grad)
    torch.testing.assert_close(module.bias.grad, direct.bias.grad)
    assert (done.forward_ms, done.backward_ms) == (250.0, 125.0)


def test_busy_service_answers_503_with_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app(make_settings(max_concurrent_jobs=1, max_queued_jobs=0))
    entered, release = threading.Event(), threading.Event()
    real_run = layer_inspection.run

    def slow_run(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        release.wait(10)
        return real_run(*args, **kwargs)

    monkeypatch.setattr(layer_inspection, "run", slow_run)
    with TestClient(app) as c:
        results: list[int] = []
        first = threading.Thread(
            target=lambda: results.append(c.post("/v1/layers/inspect", json=BODY).status_code)
        )
        first.start()
        assert entered.wait(10)
        busy = c.post("/v1/layers/inspect", json=BODY)
        release.set()
        first.join(10)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["type"] == "/problems/queue-full"
    assert results == [200]


@pytest.mark.cuda
def test_real_cuda_out_of_memory_recovers() -> None:
    # limits raised so the request passes planning and meets the (capped) device memory
    settings = make_settings(device="cuda", max_tensor_elements=10**9, max_total_elements=10**10)
    app = create_app(settings)
    body = {
        "layer": {"type": "conv2d", "in_channels": 64, "out_channels": 256, "kernel_size": 3},
        "input": {"shape": [32, 64, 256, 256]},
        "include": [],
        "backward": {"target": "sum"},
    }
    with TestClient(app) as c:
        app.state.runtime.ready.wait(60)
        torch.cuda.set_per_process_memory_fraction(0.002)
        try:
            r = c.post("/v1/layers/inspect", json=body)
        finally:
            torch.cuda.set_per_process_memory_fraction(1.0)
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "/problems/device-out-of-memory"
        ok = c.post("/v1/layers/inspect", json=BODY)
        assert ok.status_code == 200
        assert ok.json()["device"] == "cuda:0"
