"""Servers the benchmarks start: a free loopback port, a subprocess that serves on it (uvicorn,
`python -m service.cli serve` for layerscope), and its memory as /proc reports it (Linux)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def read_status_kib(pid: int, key: str = "VmRSS") -> int | None:
    """One KiB field of /proc/<pid>/status (`VmRSS`: resident now, `VmHWM`: its peak); None
    when the process or the field is not there."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


def reset_peak_rss(pid: int) -> bool:
    """Reset VmHWM to the current RSS (Linux: write 5 to clear_refs); False if not allowed."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
        return True
    except OSError:
        return False


@dataclass
class Server:
    """A server subprocess on a free 127.0.0.1 port: `argv` with `{port}` filled in, run from the
    repository root with `env` over this process's environment (the root on PYTHONPATH), its
    output in a temporary log file."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    log: IO[bytes] | None = None
    ready_s: float | None = None

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server process (with one uvicorn worker, the one that serves the requests)."""
        if self.proc is None:
            raise RuntimeError(f"{self.name} is not started")
        return self.proc.pid

    def log_tail(self, chars: int = 3000) -> str:
        """The end of the server's output."""
        if self.log is None:
            return ""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-chars:]

    def start(self, ready_path: str, timeout: float = 120.0) -> float:
        """Start the process and poll `ready_path` until it answers 200; return (and keep as
        `ready_s`) the seconds that took. Stop it and raise if it exits or `timeout` passes."""
        path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        env = {**os.environ, **self.env, "PYTHONPATH": path}
        argv = [a.replace("{port}", str(self.port)) for a in self.argv]
        self.log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"bench-{self.name.replace(' ', '-')}-", suffix=".log", delete=False
        )
        start = time.monotonic()
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        with httpx.Client(base_url=self.url, timeout=2.0) as client:
            while time.monotonic() - start < timeout:
                if self.proc.poll() is not None:
                    tail = self.log_tail()
                    code = self.proc.returncode
                    self.stop()
                    raise RuntimeError(f"{self.name} exited at start-up ({code}):\n{tail}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(ready_path).status_code == 200:
                        self.ready_s = time.monotonic() - start
                        return self.ready_s
                time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"{self.name} not ready at {ready_path} within {timeout:.0f}s:\n{tail}")

    def stop(self) -> None:
        """Terminate the process (and, via uvicorn, its workers), kill it if it lingers past
        15 s; remove its log."""
        try:
            if self.proc is not None and self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait(timeout=5)
        finally:
            if self.log is not None:
                self.log.close()
                Path(self.log.name).unlink(missing_ok=True)
                self.log = None


@contextlib.contextmanager
def running(server: Server, ready_path: str, timeout: float = 120.0) -> Iterator[Server]:
    """Start `server`, wait until `ready_path` answers, yield it, always stop it."""
    server.start(ready_path, timeout)
    try:
        yield server
    finally:
        server.stop()


def service_server(
    device: str,
    *,
    workers: int = 1,
    log_level: str = "warning",
    env: Mapping[str, str] | None = None,
) -> Server:
    """layerscope itself, started as `layerscope serve` is (`python -m service.cli serve` on
    127.0.0.1), configured by LAYERSCOPE_* variables; `env` adds or overrides some."""
    settings = {
        "LAYERSCOPE_DEVICE": device,
        "LAYERSCOPE_WORKERS": str(workers),
        "LAYERSCOPE_LOG_LEVEL": log_level,
        **(env or {}),
    }
    argv = [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1"]
    return Server("layerscope", [*argv, "--port", "{port}"], settings)
