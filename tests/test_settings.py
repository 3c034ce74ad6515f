"""Settings come from LAYERSCOPE_ environment variables."""

import pytest
from pydantic import ValidationError

from service.settings import Settings


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LAYERSCOPE_DEVICE", "LAYERSCOPE_HOST", "LAYERSCOPE_PORT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings()
    assert (s.device, s.host, s.port) == ("auto", "127.0.0.1", 8000)


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
    import torch

    from service.runtime import Runtime

    Runtime.from_settings(Settings(device="cpu", allow_tf32=True))
    assert torch.backends.cudnn.allow_tf32 and torch.backends.cuda.matmul.allow_tf32
    Runtime.from_settings(Settings(device="cpu"))
    assert not torch.backends.cudnn.allow_tf32
    assert not torch.backends.cuda.matmul.allow_tf32
