"""The FastAPI application: routers, middleware, error handlers and start-up, put together."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from http import HTTPStatus
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from schemas.problems import Problem
from service import __version__
from service.auth import require_api_key
from service.docs import add_docs
from service.errors import PROBLEM_MEDIA_TYPE, install_error_handlers
from service.inspection.upload_forms import document_upload_forms
from service.logs import configure_logging
from service.middleware.body_limit import BodyLimitMiddleware
from service.middleware.request_context import RequestContextMiddleware
from service.routes import (
    autograd,
    colormaps,
    explain,
    health,
    info,
    layers,
    metrics,
    mnist,
    models,
)
from service.runtime import Runtime
from service.settings import Settings, get_settings
from service.web.page import add_workbench

DESCRIPTION = """
Look inside PyTorch layers over HTTP. Send a layer spec and an input; get back output shapes,
weights, activations, gradients and the autograd graph, computed by PyTorch itself.

Every error is `application/problem+json` (RFC 9457) naming the field at fault and the fix.
When API keys are configured, `/v1` routes need `Authorization: Bearer <key>`.
"""

OPEN_ROUTERS: tuple[APIRouter, ...] = (health.router, metrics.router)
"""Routers that never need an API key."""
WARM_UP_JOIN_S = 60.0
"""How long shutdown waits for a warm-up still running."""

API_ROUTERS: tuple[APIRouter, ...] = (
    info.router,
    layers.router,
    models.router,
    mnist.router,
    autograd.router,
    explain.router,
    colormaps.router,
)
"""The /v1 routers: behind the API key when keys are set."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from the `LAYERSCOPE_` environment)."""
    runtime = Runtime.from_settings(settings or get_settings())
    s = runtime.settings
    configure_logging(s.log_level)
    protect_docs = bool(s.api_keys) and not s.docs_public

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warming = runtime.start_warm_up()
        yield
        runtime.metrics.worker_exited()
        # A process leaving while torch still warms up in its thread aborts in C++
        # ("terminate called without an active exception"): let the warm-up end first.
        warming.join(timeout=WARM_UP_JOIN_S)

    app = FastAPI(
        title="layerscope",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # service/docs.py serves the schema and the docs pages, offline, maybe behind the key.
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime
    app.state.metrics = runtime.metrics
    install_error_handlers(app)
    for router in OPEN_ROUTERS:
        app.include_router(router)
    # Without keys there is no auth to check, and so none to document: the schema declares
    # bearer auth (and its 401) only when the server demands it.
    keyed = bool(s.api_keys)
    guard = [Depends(require_api_key)] if keyed else []
    for router in API_ROUTERS:
        app.include_router(router, dependencies=guard)
    add_docs(app, [Depends(require_api_key)] if protect_docs else [])
    add_workbench(app)
    _register_problem_schema(app, keyed=keyed)
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=s.max_body_bytes,
        max_depth=s.max_json_depth,
        on_reject=runtime.metrics.reject,
        larger=dict.fromkeys(
            (*models.WEIGHTS_FORMS, *explain.WEIGHTS_FORMS), s.max_body_bytes + s.max_weights_bytes
        ),
    )
    if s.cors_origins:
        wildcard = "*" in s.cors_origins
        app.add_middleware(
            CORSMiddleware,
            allow_origins=["*"] if wildcard else s.cors_origins,
            allow_credentials=not wildcard,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(RequestContextMiddleware, metrics=runtime.metrics)
    return app


def _register_problem_schema(app: FastAPI, *, keyed: bool) -> None:
    """Document problem details as the error format of every operation in the OpenAPI schema.

    FastAPI documents its own 422 (`HTTPValidationError`, application/json); every error here
    is `application/problem+json`, so each operation's error responses are rewritten to say so,
    and the statuses any /v1 operation may answer (422; 400, 413, 503 with a body; 415 with a
    JSON body; 401 when API keys are `keyed`) added.
    """
    default_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = default_openapi()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            problem = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}", mode="serialization"
            )
            for name, definition in problem.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components["Problem"] = problem
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    _document_problems(path, method, operation, keyed)
            document_upload_forms(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _document_problems(path: str, method: str, operation: dict[str, Any], keyed: bool) -> None:
    responses = operation["responses"]
    statuses = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
    if path.startswith("/v1"):
        statuses |= {401, 422} if keyed else {422}
        if method in ("post", "put", "patch"):
            statuses |= {400, 413, 503}
    if "application/json" in operation.get("requestBody", {}).get("content", {}):
        statuses.add(415)  # a body sent without a JSON content type
    for status in sorted(statuses):
        entry = responses.setdefault(str(status), {})
        entry["description"] = entry.get("description") or HTTPStatus(status).phrase
        if entry["description"] == "Validation Error":
            entry["description"] = "Invalid request (problem details)"
        entry["content"] = {
            PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }
