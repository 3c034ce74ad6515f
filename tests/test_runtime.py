"""service/runtime.py: the device, the job limiter's size, the torch thread setting, readiness."""

import asyncio
import os

import pytest
import torch
from fastapi.testclient import TestClient
from starlette.requests import Request

from service import devices
from service.app import create_app
from service.jobs import default_slots
from service.runtime import Runtime, get_runtime
from tests.conftest import make_settings
from tests.helpers import FakeClock


def test_configured_limiter_size_and_queue() -> None:
    runtime = Runtime.from_settings(
        make_settings(max_concurrent_jobs=3, max_queued_jobs=7, request_timeout_s=2.5)
    )
    assert runtime.device == torch.device("cpu")
    assert (runtime.jobs.slots, runtime.jobs.queue, runtime.jobs.timeout_s) == (3, 7, 2.5)


def test_auto_limiter_size_is_one_per_cpu_core() -> None:
    runtime = Runtime.from_settings(make_settings(max_concurrent_jobs=0))
    assert runtime.jobs.slots == max(1, os.cpu_count() or 1)
    assert runtime.jobs.slots == default_slots(torch.device("cpu"))


def test_limiter_rejections_are_counted_in_the_runtimes_metrics() -> None:
    runtime = Runtime.from_settings(make_settings())
    runtime.jobs.on_reject("queue-full")
    value = runtime.metrics.registry.get_sample_value(
        "layerscope_rejections_total", {"limit": "jobs", "reason": "queue-full"}
    )
    assert value == 1.0


@pytest.mark.parametrize("threads", [0, 2])
def test_torch_threads(threads: int) -> None:
    before = torch.get_num_threads()
    try:
        Runtime.from_settings(make_settings(torch_threads=threads))
        assert torch.get_num_threads() == (threads or before)
    finally:
        torch.set_num_threads(before)


def test_ready_only_after_warm_up(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = Runtime.from_settings(make_settings())
    assert not runtime.ready.is_set() and runtime.warm_up_seconds is None
    monkeypatch.setattr(devices, "time", FakeClock(2.0, 2.5))
    runtime.warm_up()
    assert runtime.ready.is_set()
    assert runtime.warm_up_seconds == 0.5  # the device op's seconds, by the clock


def test_start_warm_up_runs_in_a_daemon_thread() -> None:
    runtime = Runtime.from_settings(make_settings())
    thread = runtime.start_warm_up()
    assert thread.daemon and thread.name == "layerscope-warm-up"
    thread.join(30)
    assert runtime.ready.is_set()


def test_unavailable_device_fails_at_start_up() -> None:
    if torch.cuda.is_available():
        pytest.skip("CUDA is here")
    with pytest.raises(ValueError, match="cuda:0 is not available here"):
        Runtime.from_settings(make_settings(device="cuda:0"))


def test_get_runtime_is_the_apps_runtime() -> None:
    app = create_app(make_settings())
    with TestClient(app) as c:
        runtime = app.state.runtime
        assert runtime.ready.wait(30)
        request = Request({"type": "http", "app": app})
        assert asyncio.run(get_runtime(request)) is runtime
        assert c.get("/readyz").json() == {"status": "ready"}
