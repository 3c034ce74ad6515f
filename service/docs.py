"""The interactive docs: /openapi.json, Swagger UI at /docs and ReDoc at /redoc, all offline.

FastAPI's own pages load Swagger UI and ReDoc from a CDN and the favicon from FastAPI's site,
so on a machine without internet they are blank. Here the pages load the scripts, styles and
favicon that the `fastapi-offline` package ships, served by the service itself under
`/docs/assets/`, and a Content-Security-Policy lets them load nothing from any other host
(ReDoc's sidebar would fetch Redocly's logo from its CDN): opening a docs page makes no request
to another host.
"""

import base64
import hashlib
import re
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.params import Depends
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, JSONResponse

ASSETS_PATH = "/docs/assets"
"""Where the Swagger UI and ReDoc files are served."""
ASSETS_DIR = files("fastapi_offline") / "static"
"""The folder of fastapi-offline's copies of Swagger UI, ReDoc and the favicon."""
SWAGGER_UI_PARAMETERS: dict[str, Any] = {"validatorUrl": None}
"""Swagger UI options on top of FastAPI's: no badge that asks swagger.io to validate."""

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def same_origin_only(page: HTMLResponse) -> HTMLResponse:
    """Add to a docs page a Content-Security-Policy that allows only this service's own files
    (its inline scripts by their hashes; inline styles, which both UIs write; data: images)."""
    scripts = ["'self'"] + [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(bytes(page.body).decode())
    ]
    page.headers["Content-Security-Policy"] = "; ".join(
        [
            "default-src 'self'",
            "script-src " + " ".join(scripts),
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "worker-src 'self' blob:",
            "connect-src 'self'",
            "base-uri 'self'",
            "form-action 'self'",
        ]
    )
    return page


def add_docs(app: FastAPI, guard: Sequence[Depends] = ()) -> None:
    """Serve the schema and both docs pages on `app`, behind `guard` (e.g. the API key).

    The static assets stay open: they are the public Swagger UI and ReDoc files, nothing of
    this service's.
    """
    app.mount(ASSETS_PATH, StaticFiles(directory=str(ASSETS_DIR)), name="docs-assets")
    deps = list(guard)

    @app.get("/openapi.json", include_in_schema=False, dependencies=deps)
    def openapi_json() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=deps)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
        )
        return same_origin_only(page)

    @app.get("/redoc", include_in_schema=False, dependencies=deps)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        page = get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
        return same_origin_only(page)
