"""Prometheus metrics."""

from typing import Annotated

from fastapi import APIRouter, Depends
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from service.runtime import Runtime, get_runtime

router = APIRouter(tags=["service"])


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "Prometheus text exposition format",
        }
    },
)
def metrics(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Response:
    """Requests by route and status, latency, in-flight requests, torch job time, rejections
    by limit and reason, and CUDA memory in use, in Prometheus' text format; with several
    workers, all workers' counts added up."""
    runtime.metrics.refresh_cuda()
    return Response(runtime.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
