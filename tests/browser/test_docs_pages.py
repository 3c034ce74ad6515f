"""/docs and /redoc in a real browser (Debian's Chromium, driven by Playwright): every
operation is rendered, and nothing the pages load comes from another host.

The service runs under uvicorn on a free 127.0.0.1 port; every request the page makes to any
other host is aborted and recorded, so a page that still reached for a CDN (its scripts, styles,
fonts or favicon) would render nothing and fail here, as it would on a machine offline.
Screenshots of both pages go to the test's temporary folder, and to the folder named by
LAYERSCOPE_SCREENSHOTS when set (`LAYERSCOPE_SCREENSHOTS=docs/screenshots` refreshes the
README's pictures).
"""

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import uvicorn

from service.app import create_app
from tests.conftest import make_settings
from tests.contract.tools import CHROMIUM, chromium_ready

playwright_sync = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

CHROMIUM_ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    # Chromium's own traffic (updates, sync, safe browsing) would reach out at start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


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


def _open(browser: Any, url: str) -> tuple[Any, list[str], list[str]]:
    """A page at `url` whose requests to other hosts are aborted: (page, aborted, errors)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    home = urlparse(url).netloc
    aborted: list[str] = []
    errors: list[str] = []

    def only_home(route: Any) -> None:
        if urlparse(route.request.url).netloc == home:
            route.continue_()
        else:
            aborted.append(route.request.url)
            route.abort()

    page.route("**/*", only_home)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(url, wait_until="networkidle")
    return page, aborted, errors


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for ops in schema["paths"].values() for op in ops.values()]


def _screenshot(page: Any, name: str, tmp_path: Path) -> None:
    page.screenshot(path=str(tmp_path / name))
    folder = os.environ.get("LAYERSCOPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / name))


def test_swagger_ui_renders_every_operation_offline(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, schema = service
    page, aborted, errors = _open(browser, base + "/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    for op in _operations(schema):
        tag = op["tags"][0] if op.get("tags") else "default"
        block = page.locator(f"#operations-{tag}-{op['operationId']}")
        assert block.count() == 1, op["operationId"]
        assert op["summary"] in block.inner_text(), op["operationId"]
    assert page.locator(".opblock").count() == len(_operations(schema))
    assert page.title() == "layerscope - Swagger UI"
    _screenshot(page, "docs.png", tmp_path)
    assert aborted == [] and errors == []


def test_redoc_renders_every_operation_offline(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, schema = service
    page, aborted, errors = _open(browser, base + "/redoc")
    page.wait_for_selector("[data-section-id*='operation/']", timeout=20_000)
    for op in _operations(schema):
        section = page.locator(f"[id='operation/{op['operationId']}']")
        assert section.count() == 1, op["operationId"]
        assert op["summary"] in section.inner_text(), op["operationId"]
    assert page.locator("[id^='operation/']").count() == len(_operations(schema))
    assert page.title() == "layerscope - ReDoc"
    _screenshot(page, "redoc.png", tmp_path)
    assert aborted == [] and errors == []
