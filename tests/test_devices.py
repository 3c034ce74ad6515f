"""Device resolution: auto, explicit, and refusals that name the devices there are."""

import time

import pytest
import torch

from service import devices
from service.devices import available_devices, default_device, resolve_device, warm_up
from service.errors import ProblemError
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
