"""/docs and /redoc in a real browser (Debian's Chromium, driven by Playwright): every
operation is rendered, and nothing the pages load comes from another host.

The service runs under uvicorn on a free 127.0.0.1 port; every request the page makes to any
other host is aborted and recorded, so a page that still reached for a CDN (its scripts, styles,
fonts or favicon) would render nothing and fail here, as it would on a machine offline.
Screenshots of both pages go to the test's temporary folder, and to the folder named by
LAYERSCOPE_SCREENSHOTS when set (`LAYERSCOPE_SCREENSHOTS=docs/screenshots` refreshes the
README's pictures).
"""

from pathlib import Path
from typing import Any

from tests.browser.pages import open_page, screenshot


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for ops in schema["paths"].values() for op in ops.values()]


def test_swagger_ui_renders_every_operation_offline(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, schema = service
    opened = open_page(browser, base + "/docs")
    page = opened.page
    page.wait_for_selector(".opblock", timeout=20_000)
    for op in _operations(schema):
        tag = op["tags"][0] if op.get("tags") else "default"
        block = page.locator(f"#operations-{tag}-{op['operationId']}")
        assert block.count() == 1, op["operationId"]
        assert op["summary"] in block.inner_text(), op["operationId"]
    assert page.locator(".opblock").count() == len(_operations(schema))
    assert page.title() == "layerscope - Swagger UI"
    screenshot(page, "docs.png", tmp_path)
    assert opened.aborted == [] and opened.errors == []


def test_redoc_renders_every_operation_offline(
    service: tuple[str, dict[str, Any]], browser: Any, tmp_path: Path
) -> None:
    base, schema = service
    opened = open_page(browser, base + "/redoc")
    page = opened.page
    page.wait_for_selector("[data-section-id*='operation/']", timeout=20_000)
    for op in _operations(schema):
        section = page.locator(f"[id='operation/{op['operationId']}']")
        assert section.count() == 1, op["operationId"]
        assert op["summary"] in section.inner_text(), op["operationId"]
    assert page.locator("[id^='operation/']").count() == len(_operations(schema))
    assert page.title() == "layerscope - ReDoc"
    screenshot(page, "redoc.png", tmp_path)
    assert opened.aborted == [] and opened.errors == []
