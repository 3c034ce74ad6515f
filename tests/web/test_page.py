"""The workbench's files (service/web/page.py): the page at /, its files under /static/, the
policy that keeps it offline, and nothing in it that reaches for another host.

The page itself is driven in a real browser by tests/browser/test_workbench.py.
"""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from tests.conftest import make_settings

STATIC = Path(__file__).resolve().parents[2] / "service" / "web" / "static"
FILES = sorted(p for p in STATIC.rglob("*") if p.is_file())
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # an identifier, never fetched


class References(HTMLParser):
    """The src and href of every element of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.found.append((tag, name, value))


def references(html: str) -> list[tuple[str, str, str]]:
    parser = References()
    parser.feed(html)
    return parser.found


def test_the_page_is_served_with_a_policy_that_keeps_it_on_this_host(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.text == (STATIC / "index.html").read_text()
    policy = dict(
        part.strip().split(" ", 1) for part in page.headers["content-security-policy"].split(";")
    )
    assert policy["default-src"] == "'self'"
    assert policy["script-src"] == "'self'"  # no inline script, no CDN
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"
    assert policy["font-src"] == "'none'"  # no web font at all
    assert policy["img-src"] == "'self' data: blob:"


def test_every_file_the_page_names_is_served(client: TestClient) -> None:
    found = references((STATIC / "index.html").read_text())
    local = [value for _, _, value in found if not value.startswith("#")]
    assert "static/js/main.js" in local and "static/style.css" in local
    for value in local:
        assert not re.match(r"^([a-z]+:)?//", value), f"{value}: another host"
        response = client.get("/" + value)
        assert response.status_code == 200, value


@pytest.mark.parametrize("path", [p for p in FILES if p.suffix == ".js"], ids=lambda p: p.name)
def test_every_module_is_served_as_javascript_and_its_imports_exist(
    client: TestClient, path: Path
) -> None:
    response = client.get("/static/" + path.relative_to(STATIC).as_posix())
    assert response.status_code == 200
    # Browsers refuse to run a module served with a type that is not JavaScript.
    assert response.headers["content-type"].split(";")[0] in (
        "text/javascript",
        "application/javascript",
    )
    assert response.content == path.read_bytes()
    for target in re.findall(r'^import .*? from "(.+?)";$', path.read_text(), re.MULTILINE):
        assert target.startswith("./") and (path.parent / target).is_file(), target


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_file_reaches_for_another_host(path: Path) -> None:
    if path.suffix not in (".html", ".css", ".js", ".svg"):
        pytest.fail(f"{path.name}: a file the page does not use")
    text = path.read_text().replace(SVG_NAMESPACE, "")
    assert not re.search(r"https?://|url\(\s*['\"]?//|@import|@font-face", text), path.name


def test_the_page_is_open_when_the_api_needs_a_key() -> None:
    # The page holds nothing secret; the API calls it makes carry the key a person types in.
    app = create_app(make_settings(api_keys=["k"]))
    with TestClient(app) as c:
        assert c.get("/").status_code == 200
        assert c.get("/static/js/main.js").status_code == 200
        assert c.get("/v1/colormaps").status_code == 401
        assert c.get("/v1/colormaps", headers={"Authorization": "Bearer k"}).status_code == 200


def test_the_pages_files_are_package_data() -> None:
    import tomllib

    project = tomllib.loads((STATIC.parents[2] / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["service.web"]
    covered = {p for pattern in patterns for p in (STATIC.parent).glob(pattern) if p.is_file()}
    assert covered == set(FILES)
