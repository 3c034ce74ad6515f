"""`layerscope serve` starts uvicorn with the settings."""

import os
import tempfile
from pathlib import Path
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


def test_several_workers_share_a_fresh_metrics_folder(monkeypatch: pytest.MonkeyPatch) -> None:
    """uvicorn's workers inherit PROMETHEUS_MULTIPROC_DIR: a new empty folder while the server
    runs, removed after; one worker runs without it, and a folder set already is kept."""
    seen: list[str | None] = []

    def run(app: str, **kw: Any) -> None:
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        seen.append(folder)
        assert folder is None or (Path(folder).is_dir() and not any(Path(folder).iterdir()))

    monkeypatch.setattr(cli.uvicorn, "run", run)
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    for workers in ("2", "1"):
        cli.get_settings.cache_clear()
        monkeypatch.setenv("LAYERSCOPE_WORKERS", workers)
        try:
            cli.main(["serve"])
        finally:
            cli.get_settings.cache_clear()
    made, none = seen
    assert made is not None and not Path(made).exists()
    assert none is None and "PROMETHEUS_MULTIPROC_DIR" not in os.environ
    mine = Path(tempfile.mkdtemp())
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(mine))
    monkeypatch.setenv("LAYERSCOPE_WORKERS", "2")
    try:
        cli.main(["serve"])
    finally:
        cli.get_settings.cache_clear()
    assert seen[-1] == str(mine) and mine.is_dir()
    mine.rmdir()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("LAYERSCOPE_PORT", "70000"),
        ("LAYERSCOPE_WORKERS", "0"),
        ("LAYERSCOPE_ALLOW_TF32", "perhaps"),
    ],
)
def test_a_setting_out_of_range_stops_with_status_2_naming_it(
    monkeypatch: pytest.MonkeyPatch, capsys: Any, variable: str, value: str
) -> None:
    """As docs/settings.md promises: the variable named as it is set, no traceback, status 2."""
    calls: list[Any] = []
    monkeypatch.setattr(cli.uvicorn, "run", lambda *a, **kw: calls.append(kw))
    cli.get_settings.cache_clear()
    monkeypatch.setenv(variable, value)
    try:
        with pytest.raises(SystemExit) as stopped:
            cli.main(["serve"])
    finally:
        cli.get_settings.cache_clear()
    assert stopped.value.code == 2
    assert calls == []
    err = capsys.readouterr().err
    assert err.startswith("layerscope: invalid settings\n")
    assert f"\n{variable}: " in err
