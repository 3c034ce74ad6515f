"""The docs pages (service/docs.py): Swagger UI and ReDoc from the service itself, offline.

tests/browser/test_docs_pages.py loads both pages in a real browser; these check the HTML.
"""

import base64
import hashlib
import re
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.docs import ASSETS_DIR
from tests.conftest import make_settings


class _Links(HTMLParser):
    """Every URL a page's tags load (src, href)."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href") and v]


def _links(html: str) -> _Links:
    parser = _Links()
    parser.feed(html)
    return parser


@pytest.mark.parametrize(
    ("page", "assets"),
    [
        ("/docs", {"swagger-ui-bundle.js", "swagger-ui.css", "favicon.png"}),
        ("/redoc", {"redoc.standalone.js", "favicon.png"}),
    ],
)
def test_pages_load_only_the_services_own_files(
    client: TestClient, page: str, assets: set[str]
) -> None:
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    links = _links(html.text)
    # Every file the page loads lies on this service, and is the file fastapi-offline ships.
    assert {url.rsplit("/", 1)[1] for url in links.urls} == assets
    for url in links.urls:
        assert url.startswith("/docs/assets/"), url
        served = client.get(url)
        assert served.status_code == 200, url
        assert served.content == (ASSETS_DIR / url.rsplit("/", 1)[1]).read_bytes(), url
    # No other host named anywhere in the page: not in a tag, not in its script.
    assert not re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html.text), html.text
    assert "/openapi.json" in html.text  # the page loads this service's schema


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_pages_forbid_the_browser_any_other_host(client: TestClient, page: str) -> None:
    """A Content-Security-Policy of this origin only (ReDoc's sidebar would fetch Redocly's
    logo from a CDN): the page's inline script is allowed by its hash, nothing by host."""
    r = client.get(page)
    directives = [d.partition(" ") for d in r.headers["content-security-policy"].split("; ")]
    policy = {name: value for name, _, value in directives}
    assert policy["default-src"] == "'self'"
    assert policy["img-src"] == "'self' data:" and policy["connect-src"] == "'self'"
    assert not re.search(r"https?:|\*", r.headers["content-security-policy"])
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    digests = {
        "'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'"
        for s in inline
    }
    assert set(policy["script-src"].split()) == {"'self'", *digests}
    assert len(inline) == (1 if page == "/docs" else 0)


def test_swagger_ui_does_not_ask_an_online_validator(client: TestClient) -> None:
    assert '"validatorUrl": null' in client.get("/docs").text


def test_closed_docs_close_both_pages_but_not_the_assets() -> None:
    app = create_app(make_settings(api_keys="k", docs_public=False))
    auth = {"Authorization": "Bearer k"}
    with TestClient(app) as c:
        for page in ("/docs", "/redoc", "/openapi.json"):
            assert c.get(page).status_code == 401, page
            assert c.get(page, headers=auth).status_code == 200, page
        assert "ReDoc" in c.get("/redoc", headers=auth).text
        # The public Swagger UI files are no secret of this service.
        assert c.get("/docs/assets/swagger-ui.css").status_code == 200
