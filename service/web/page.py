"""Serve the workbench: `GET /` is the page, `/static/...` its scripts, styles and icon.

The page is plain files (HTML, CSS, JavaScript modules), shipped inside the package and served
as they are: nothing is built at install time and nothing comes from another host. A
Content-Security-Policy lets the page load only this service's own files and talk only to this
service, so a page that reached for a CDN or a web font would break here as it would offline.
The page holds nothing secret, so it is served without the API key; every call it makes to
`/v1` sends the key a person types in, as any other client would.
"""

from importlib.resources import files

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse

STATIC_PATH = "/static"
"""Where the page's files are served."""
STATIC_DIR = files("service.web") / "static"
"""The page's files, in the package."""

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # The pictures come back as data: URIs; a drawing is saved through a blob: URL.
        "img-src 'self' data: blob:",
        "font-src 'none'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
"""Only this service's own files and API: no CDN, no web font, no inline script."""

router = APIRouter()


def page_html() -> str:
    """The workbench page as shipped."""
    return (STATIC_DIR / "index.html").read_text(encoding="utf-8")


@router.get("/", include_in_schema=False)
def workbench() -> HTMLResponse:
    """The workbench page."""
    return HTMLResponse(
        page_html(),
        headers={
            "Content-Security-Policy": CONTENT_SECURITY_POLICY,
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
        },
    )


def add_workbench(app: FastAPI) -> None:
    """Serve the page at `/` and its files under STATIC_PATH on `app`."""
    app.include_router(router)
    app.mount(STATIC_PATH, StaticFiles(directory=str(STATIC_DIR)), name="workbench-static")
