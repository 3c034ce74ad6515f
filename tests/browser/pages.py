"""Pages in the browser tests' Chromium with every request to another host aborted and
recorded, and their screenshots.

Screenshots go to the test's temporary folder, and to the folder named by
LAYERSCOPE_SCREENSHOTS when set (`LAYERSCOPE_SCREENSHOTS=docs/screenshots` refreshes the
pictures of the README and docs/).
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from PIL import Image

CHROMIUM_ARGS = [
    "--headless=new",
    "--disable-gpu",
    "--no-first-run",
    # Chromium's own traffic (updates, sync, safe browsing) would reach out at start.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Opened:
    """A page whose requests to other hosts are aborted: the requests aborted, the script
    errors it raised, and what its security policy refused (messages), all recorded."""

    page: Any
    aborted: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)


def open_page(
    browser: Any, url: str, *, width: int = 1280, height: int = 900, wait: str = "networkidle"
) -> Opened:
    """Open `url` in a fresh page of width x height, only its own host reachable."""
    page = browser.new_page(viewport={"width": width, "height": height})
    opened = Opened(page)
    home = urlparse(url).netloc

    def only_home(route: Any) -> None:
        if urlparse(route.request.url).netloc == home:
            route.continue_()
        else:
            opened.aborted.append(route.request.url)
            route.abort()

    page.route("**/*", only_home)
    page.on("pageerror", lambda exc: opened.errors.append(str(exc)))
    # What the page's Content-Security-Policy refused (a CDN script, a web font): the browser
    # stops it before any request, so it never reaches the route above.
    page.on(
        "console",
        lambda message: (
            opened.refused.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text
            else None
        ),
    )
    page.goto(url, wait_until=wait)
    return opened


def screenshot(page: Any, name: str, tmp_path: Path, *, colours: int | None = None) -> Path:
    """Save a screenshot of the viewport in tmp_path, and in LAYERSCOPE_SCREENSHOTS when set;
    `colours` quantizes the published copy to that many colours (smaller files)."""
    path = tmp_path / name
    page.screenshot(path=str(path))
    folder = os.environ.get("LAYERSCOPE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        target = Path(folder) / name
        if colours is None:
            page.screenshot(path=str(target))
        else:
            with Image.open(path) as image:
                small = image.convert("RGB").quantize(colours, dither=Image.Dither.NONE)
                small.save(target, optimize=True)
    return path
