"""Device resolution: auto, explicit, and refusals that name the devices there are."""

import ctypes
import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import torch

from schemas.autograd import AutogradRequest
from schemas.requests import LayerInspectRequest
from service import devices
from service.app import create_app
from service.autograd.run import run_autograd
from service.devices import available_devices, default_device, resolve_device, warm_up
from service.errors import ProblemError
from service.inspection.layer import inspect_layer
from service.runtime import Runtime
from tests.conftest import make_settings
from tests.helpers import FakeClock


def test_auto_picks_cuda_only_when_there() -> None:
    expected = "cuda:0" if torch.cuda.is_available() else "cpu"
    assert str(default_device("auto")) == expected
    assert available_devices() == ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]


def test_configured_device_missing_fails_loudly() -> None:
    with pytest.raises(ValueError, match="LAYERSCOPE_DEVICE=cuda:9"):
        default_device("cuda:9")


def test_resolve() -> None:
    cpu = torch.device("cpu")
    assert resolve_device(None, cpu) == cpu
    assert resolve_device("cpu", cpu) == cpu
    with pytest.raises(ProblemError) as err:
        resolve_device("cuda:00", cpu)  # past the schema's pattern, torch's parser refuses it
    assert err.value.status == 422
    with pytest.raises(ProblemError) as err:
        resolve_device("cuda:9", cpu)
    assert err.value.status == 422
    assert err.value.context == {"available": available_devices()}
    assert err.value.errors[0]["field"] == "body.device"


def test_warm_up_returns_the_seconds_its_op_took(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = FakeClock(5.0, 5.125)
    monkeypatch.setattr(devices, "time", clock)
    assert warm_up(torch.device("cpu")) == 0.125
    assert clock.readings == []


@pytest.mark.cuda
def test_cuda_resolves_and_warms() -> None:
    device = resolve_device("cuda", torch.device("cpu"))
    assert device == torch.device("cuda", 0)
    start = time.perf_counter()
    seconds = warm_up(device)
    assert 0 < seconds <= time.perf_counter() - start
    assert torch.cuda.is_initialized()


def _openmp_threads_here() -> int:
    """OpenMP's thread count in the calling thread, read from torch's own libgomp (torch's
    parallel_info would set it first)."""
    loaded = {line.split()[-1] for line in Path("/proc/self/maps").read_text().splitlines()}
    gomp = sorted(path for path in loaded if "libgomp" in path)
    if not gomp:
        pytest.skip("torch here does not use libgomp")
    threads: int = ctypes.CDLL(gomp[0]).omp_get_max_threads()
    return threads


def _in_a_new_thread(fn: Callable[[], int]) -> int:
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def test_a_request_thread_gets_the_configured_torch_threads() -> None:
    """OpenMP keeps its thread count per thread: a fresh worker thread starts with every core,
    whatever start-up set, until the request's run sets it there."""
    if (os.cpu_count() or 1) < 2 or "OMP_NUM_THREADS" in os.environ:
        pytest.skip("needs 2 cores and OpenMP's default thread count")
    before = torch.get_num_threads()
    try:
        runtime = create_app(make_settings(torch_threads=1)).state.runtime
        _check_request_threads(runtime)
    finally:
        torch.set_num_threads(before)  # start-up set it in this (the main) thread


def _check_request_threads(runtime: Runtime) -> None:
    assert _in_a_new_thread(_openmp_threads_here) == os.cpu_count()  # what a thread starts with
    request = LayerInspectRequest.model_validate(
        {"layer": {"type": "activation", "name": "relu"}, "input": {"shape": [2, 2]}}
    )

    def served() -> int:
        inspect_layer(request, runtime)
        return _openmp_threads_here()

    assert _in_a_new_thread(served) == 1
    autograd = AutogradRequest.model_validate(
        {
            "tensors": {"x": {"fill": 1.0, "shape": [2]}},
            "ops": [{"name": "y", "op": "relu", "args": ["x"]}],
        }
    )

    def graph() -> int:
        run_autograd(autograd, runtime)
        return _openmp_threads_here()

    assert _in_a_new_thread(graph) == 1
