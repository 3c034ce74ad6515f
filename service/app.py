"""The FastAPI application: routers, error handlers and start-up, put together."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from schemas.problems import Problem
from service import __version__
from service.errors import install_error_handlers
from service.routes import health, info, layers, mnist
from service.runtime import Runtime
from service.settings import Settings, get_settings

DESCRIPTION = """
Look inside PyTorch layers over HTTP. Send a layer spec and an input; get back output shapes,
weights, activations, gradients and the autograd graph, computed by PyTorch itself.

Every error is `application/problem+json` (RFC 9457) naming the field at fault and the fix.
"""


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: from the `LAYERSCOPE_` environment)."""
    runtime = Runtime.from_settings(settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime.start_warm_up()
        yield

    app = FastAPI(
        title="layerscope",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    install_error_handlers(app)
    for module in (health, info, layers, mnist):
        app.include_router(module.router)
    _register_problem_schema(app)
    return app


def _register_problem_schema(app: FastAPI) -> None:
    """Put the Problem model in the OpenAPI components, for the problem+json responses."""
    default_openapi = app.openapi

    def openapi() -> dict[str, object]:
        if app.openapi_schema is None:
            schema = default_openapi()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for name, definition in (
                Problem.model_json_schema(ref_template="#/components/schemas/{model}")
                .get("$defs", {})
                .items()
            ):
                components.setdefault(name, definition)
            problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            problem.pop("$defs", None)
            components["Problem"] = problem
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
