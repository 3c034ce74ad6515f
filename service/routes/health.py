"""Liveness and readiness."""

from typing import Annotated

from fastapi import APIRouter, Depends
from starlette.responses import Response

from schemas.problems import Problem
from schemas.responses import Health
from service.errors import ProblemError
from service.runtime import Runtime, get_runtime

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness", response_model=Health)
async def healthz() -> Health:
    """Answers 200 while the process serves HTTP at all."""
    return Health(status="ok")


@router.get(
    "/readyz",
    summary="Readiness",
    response_model=Health,
    responses={503: {"model": Problem, "description": "Not ready yet (problem details)"}},
)
async def readyz(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Health | Response:
    """Answers 200 once the default device has run a warm-up op; 503 until then."""
    if not runtime.ready.is_set():
        raise ProblemError(
            503,
            "not-ready",
            f"warming up device {runtime.device}; retry shortly",
            title="Not ready",
            headers={"Retry-After": "1"},
        )
    return Health(status="ready")
