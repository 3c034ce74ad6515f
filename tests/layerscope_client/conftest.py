"""One live layerscope server for the client's tests: `python -m service.cli serve` on a free
loopback port (CPU, one torch thread, an API key), and clients of it."""

from collections.abc import Iterator

import httpx
import pytest

from bench.processes import Server, running, service_server
from layerscope_client import Client

API_KEY = "client-test-key"


@pytest.fixture(scope="session")
def live_server() -> Iterator[Server]:
    """The server, started once for the session and stopped at its end."""
    server = service_server(
        "cpu", env={"LAYERSCOPE_API_KEYS": API_KEY, "LAYERSCOPE_TORCH_THREADS": "1"}
    )
    with running(server, "/readyz") as started:
        yield started


@pytest.fixture(scope="session")
def live(live_server: Server) -> Iterator[Client]:
    """The client, values as torch tensors."""
    with Client(live_server.url, api_key=API_KEY, arrays="torch") as client:
        yield client


@pytest.fixture(scope="session")
def live_numpy(live_server: Server) -> Iterator[Client]:
    """The client, values as numpy arrays (torch importable, numpy forced)."""
    with Client(live_server.url, api_key=API_KEY, arrays="numpy") as client:
        yield client


@pytest.fixture(scope="session")
def raw(live_server: Server) -> Iterator[httpx.Client]:
    """Plain httpx on the same server: the JSON responses the client's results must equal."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(base_url=live_server.url, headers=headers, timeout=60) as client:
        yield client
