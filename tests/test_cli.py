"""`layerscope serve` starts uvicorn with the settings."""

from typing import Any

import pytest

from service import cli


def test_serve_uses_settings(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kw: calls.append({"app": app, **kw}))
    cli.get_settings.cache_clear()
    monkeypatch.setenv("LAYERSCOPE_PORT", "8123")
    monkeypatch.setenv("LAYERSCOPE_WORKERS", "2")
    try:
        cli.main(["serve"])
    finally:
        cli.get_settings.cache_clear()
    assert calls[0]["app"] == "service.app:create_app"
    assert calls[0]["factory"] is True
    assert (calls[0]["host"], calls[0]["port"], calls[0]["workers"]) == ("127.0.0.1", 8123, 2)
    out = capsys.readouterr().out
    assert "workbench at http://127.0.0.1:8123/," in out and "http://127.0.0.1:8123/docs" in out


def test_host_and_port_flags_override(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda app, **kw: calls.append(kw))
    cli.main(["serve", "--host", "0.0.0.0", "--port", "9000"])
    assert (calls[0]["host"], calls[0]["port"]) == ("0.0.0.0", 9000)
