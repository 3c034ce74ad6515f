"""The HTTP floor: a bare FastAPI app that validates the service's own request models and answers
with a ready-made body of a given size, and nothing else (no middleware, metrics, logging, job
limiter, torch).

    POST /v1/layers/inspect?bytes=N   validates LayerInspectRequest, answers N bytes
    POST /v1/models/inspect?bytes=N   validates ModelInspectRequest, answers N bytes

The benchmark sends each the same request body it sends the service, with N the byte count of
the service's answer to it, over the same kind of keep-alive connection, so the difference is
the service's own work. The routes are plain `def`, run in Starlette's thread pool as a route
doing blocking torch work must be; `/async/...` twins (`async def`, no thread hop) show what
the hop costs.
"""

from functools import lru_cache
from typing import Annotated

from fastapi import FastAPI, Query
from starlette.responses import Response

from schemas.models import ModelInspectRequest
from schemas.requests import LayerInspectRequest

app = FastAPI(title="bare floor")

Size = Annotated[int, Query(alias="bytes", ge=0, le=1 << 31)]


@lru_cache(maxsize=16)
def blob(size: int) -> bytes:
    """`size` bytes, made once per size."""
    return b"\x01" * size


@app.get("/healthz")
def healthz() -> dict[str, str]:
    """Liveness."""
    return {"status": "ok"}


@app.post("/v1/layers/inspect")
def layers(request: LayerInspectRequest, size: Size = 0) -> Response:
    """Validate the layer request, answer `bytes` bytes."""
    return Response(blob(size), media_type="application/octet-stream")


@app.post("/v1/models/inspect")
def models(request: ModelInspectRequest, size: Size = 0) -> Response:
    """Validate the model request, answer `bytes` bytes."""
    return Response(blob(size), media_type="application/octet-stream")


@app.post("/async/v1/layers/inspect")
async def layers_async(request: LayerInspectRequest, size: Size = 0) -> Response:
    """`layers` without the thread pool."""
    return Response(blob(size), media_type="application/octet-stream")
