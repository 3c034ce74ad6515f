"""Settings come from LAYERSCOPE_ environment variables."""

from typing import Any

import pytest
import torch
from pydantic import ValidationError

from service import cli
from service.runtime import Runtime
from service.settings import Settings


def test_unset_environment_serves_on_localhost_8000_on_the_auto_device(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("LAYERSCOPE_DEVICE", "LAYERSCOPE_HOST", "LAYERSCOPE_PORT", "LAYERSCOPE_WORKERS"):
        monkeypatch.delenv(name, raising=False)
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kw: calls.append(kw))
    cli.get_settings.cache_clear()
    try:
        cli.main(["serve"])
    finally:
        cli.get_settings.cache_clear()
    assert (calls[0]["host"], calls[0]["port"], calls[0]["workers"]) == ("127.0.0.1", 8000, 1)
    runtime = Runtime.from_settings(Settings())
    assert runtime.device == torch.device("cuda:0" if torch.cuda.is_available() else "cpu")


def test_env_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAYERSCOPE_DEVICE", "cuda:1")
    monkeypatch.setenv("LAYERSCOPE_PORT", "9001")
    monkeypatch.setenv("LAYERSCOPE_MAX_TENSOR_ELEMENTS", "123")
    s = Settings()
    assert (s.device, s.port, s.max_tensor_elements) == ("cuda:1", 9001, 123)


@pytest.mark.parametrize("device", ["gpu", "cuda:x", "CPU", ""])
def test_bad_device_is_refused(monkeypatch: pytest.MonkeyPatch, device: str) -> None:
    monkeypatch.setenv("LAYERSCOPE_DEVICE", device)
    with pytest.raises(ValidationError):
        Settings()


def test_tf32_follows_the_setting() -> None:
    Runtime.from_settings(Settings(device="cpu", allow_tf32=True))
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    Runtime.from_settings(Settings(device="cpu"))
    assert not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32
