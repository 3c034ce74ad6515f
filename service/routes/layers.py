"""Inspection of one layer."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends
from starlette.responses import Response

from schemas.examples import LAYER_EXAMPLES
from schemas.requests import LayerInspectRequest
from schemas.responses import LayerInspectResponse
from service.errors import PROBLEM_RESPONSES
from service.layer_inspection import inspect_layer
from service.responses import OrjsonResponse
from service.runtime import Runtime, TorchJob, get_runtime

router = APIRouter(prefix="/v1/layers", tags=["layers"])


@router.post(
    "/inspect",
    summary="Run one layer forward (and backward) and return everything",
    response_model=LayerInspectResponse,
    responses=PROBLEM_RESPONSES,
    dependencies=[TorchJob],
)
def inspect(
    request: Annotated[LayerInspectRequest, Body(openapi_examples=LAYER_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Response:
    """Build the layer (`conv2d`, `maxpool2d`, `linear`, `activation` or `flatten`) with
    PyTorch's own arguments, make its input (seeded random values or explicit data), run it
    forward on the chosen device, and backward when `backward` is given.

    Returns the layer's repr and parameter counts; the input, output and parameters as tensor
    objects (shape, dtype, stats, and values when `include` names them), the output's
    `grad_fn`, and every gradient after a backward pass. A shape that does not fit the layer
    is a 422 that says what the layer expects and which argument to set.
    """
    return OrjsonResponse(inspect_layer(request, runtime))
