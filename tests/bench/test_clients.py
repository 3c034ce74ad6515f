"""bench.clients against a small real server (the standard library's http.server)."""

import sys
from collections.abc import Iterator

import pytest

from bench import clients
from bench.processes import ROOT, Server, running


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    argv = [sys.executable, "-m", "http.server", "{port}", "--bind", "127.0.0.1"]
    with running(Server("http.server", argv), "/", timeout=30) as s:
        yield s


def test_keep_alive_client_reads_whole_bodies(server: Server) -> None:
    client = clients.KeepAliveClient(server.url)
    try:
        for name in ("pyproject.toml", "bench/http_bench.py"):  # twice over one connection
            status, body = client.get(f"/{name}")
            assert status == 200
            assert body == (ROOT / name).read_bytes()
    finally:
        client.close()


def test_timed_get_and_post_raise_on_anything_but_200(server: Server) -> None:
    client = clients.KeepAliveClient(server.url)
    try:
        assert clients.timed_get(client, "/pyproject.toml") > 0
        with pytest.raises(RuntimeError, match="GET /nothing-here -> 404"):
            clients.timed_get(client, "/nothing-here")
    finally:
        client.close()
    client = clients.KeepAliveClient(server.url)  # http.server closes after an error
    try:
        with pytest.raises(RuntimeError, match="POST / -> 501"):  # http.server has no POST
            clients.timed_post(client, "/", b"{}")
    finally:
        client.close()
