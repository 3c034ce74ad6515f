"""bench.processes: ports, /proc memory readings checked against other sources, and the runner
on a small real server (the standard library's http.server)."""

import os
import resource
import socket
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest

from bench import processes

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def test_free_port_can_be_bound() -> None:
    port = processes.free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))  # raises OSError if it was taken
        s.listen()


def test_rss_matches_statm_of_this_process() -> None:
    rss = processes.read_status_kib(os.getpid(), "VmRSS")
    resident_pages = int(Path("/proc/self/statm").read_text().split()[1])
    assert rss is not None
    assert rss == pytest.approx(resident_pages * PAGE_KIB, abs=2048)
    assert rss > 50_000  # torch and numpy are imported: well over 50 MiB


def test_peak_rss_matches_getrusage() -> None:
    hwm = processes.read_status_kib(os.getpid(), "VmHWM")
    # Linux reports ru_maxrss in KiB; the peak only grows between the two reads.
    assert hwm is not None
    assert hwm == pytest.approx(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, abs=2048)


def test_reset_peak_rss_brings_the_peak_down_to_the_current_rss() -> None:
    pid = os.getpid()
    block = np.ones(64 * 2**20, dtype=np.uint8)  # 64 MiB, every page touched
    del block
    rss, hwm = (processes.read_status_kib(pid, key) for key in ("VmRSS", "VmHWM"))
    assert rss is not None and hwm is not None
    assert hwm >= rss + 60_000
    if not processes.reset_peak_rss(pid):
        pytest.skip("clear_refs is not writable here")
    after = processes.read_status_kib(pid, "VmHWM")
    assert after is not None
    assert after == pytest.approx(rss, abs=4096)


def test_unreadable_fields_are_none() -> None:
    assert processes.read_status_kib(2**22 + 12345) is None  # above pid_max: no such process
    assert processes.read_status_kib(os.getpid(), "NoSuchField") is None


def _http_server() -> processes.Server:
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
    return processes.Server("http.server", argv)


def test_running_serves_and_always_stops() -> None:
    server = _http_server()
    with processes.running(server, "/", timeout=30) as s:
        assert s.ready_s is not None and s.ready_s > 0
        assert httpx.get(f"{s.url}/pyproject.toml").status_code == 200  # cwd: the repo root
        assert processes.read_status_kib(s.pid) is not None
        proc, log = s.proc, s.log
    assert proc is not None and log is not None
    assert proc.poll() is not None
    assert not Path(log.name).exists()


def test_start_up_failure_raises_with_the_output() -> None:
    argv = [sys.executable, "-c", "import sys; print('boom at start'); sys.exit(3)"]
    server = processes.Server("failing", argv)
    with pytest.raises(RuntimeError, match=r"(?s)exited at start-up \(3\).*boom at start"):
        server.start("/", timeout=30)
    assert server.log is None


def test_never_ready_is_stopped_after_the_timeout() -> None:
    server = processes.Server("sleeper", [sys.executable, "-c", "import time; time.sleep(60)"])
    with pytest.raises(RuntimeError, match="not ready at / within 1s"):
        server.start("/", timeout=1.0)
    assert server.proc is not None and server.proc.poll() is not None


def test_service_server_is_layerscope_serve_with_its_settings() -> None:
    server = processes.service_server(
        "cuda:1", workers=2, env={"LAYERSCOPE_LOG_LEVEL": "info", "X": "1"}
    )
    assert server.argv[1:] == [
        "-m",
        "service.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
    assert server.env == {
        "LAYERSCOPE_DEVICE": "cuda:1",
        "LAYERSCOPE_WORKERS": "2",
        "LAYERSCOPE_LOG_LEVEL": "info",
        "X": "1",
    }
