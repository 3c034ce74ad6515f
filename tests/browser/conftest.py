"""Fixtures of the browser tests: the service on a free loopback port and Debian's Chromium
driven by Playwright (tests/browser/pages.py opens pages in it, other hosts blocked)."""

import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import uvicorn

from service.app import create_app
from tests.browser.pages import CHROMIUM_ARGS
from tests.conftest import make_settings
from tests.contract.tools import CHROMIUM, chromium_ready

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def service() -> Iterator[tuple[str, dict[str, Any]]]:
    """The service on a free loopback port: its base URL and its OpenAPI schema."""
    app = create_app(make_settings(log_level="warning"))
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.openapi()
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (which cannot download its own)."""
    missing = chromium_ready()
    if missing is not None:
        pytest.skip(missing)
    with playwright_sync.sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
