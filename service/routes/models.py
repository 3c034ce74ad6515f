"""Pipelines: inspect a small model layer by layer, or summarise it on meta."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, File, Form, Header, Query, UploadFile
from starlette.responses import PlainTextResponse, Response

from schemas.examples import MODEL_EXAMPLES, SUMMARY_EXAMPLES
from schemas.images import ImageInputOptions
from schemas.models import (
    ModelInspectRequest,
    ModelInspectResponse,
    ModelRenderRequest,
    ModelSummaryRequest,
    ModelSummaryResponse,
    ModelUploadSpec,
)
from service.errors import PROBLEM_RESPONSES
from service.inspection.model import inspect_model, render_model
from service.inspection.summary import render_text, summarize_model
from service.inspection.upload_forms import json_part, upload_request
from service.negotiation import wants_text
from service.orjson_response import OrjsonResponse
from service.routes.layers import IMAGE_FORM_DOC, PNG_RESPONSES, UPLOAD_RESPONSES
from service.runtime import Runtime, TorchJob, get_runtime

router = APIRouter(prefix="/v1/models", tags=["models"])

TEXT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The table as JSON, or as torchinfo-style text with `format=text` or "
        "`Accept: text/plain`.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/inspect",
    summary="Run a pipeline of layers forward (and backward) and look at every layer",
    response_model=ModelInspectResponse,
    responses=PROBLEM_RESPONSES,
    dependencies=[TorchJob],
)
def inspect(
    request: Annotated[ModelInspectRequest, Body(openapi_examples=MODEL_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Response:
    """Build `layers` as an `nn.Sequential` (same specs as /v1/layers/inspect), make the input,
    run it forward on the chosen device, and backward when `backward` is given.

    Returns a `summary` (shapes, parameter counts and bytes, forward FLOPs with a multiply-add
    counted as 2, and torchinfo's memory estimate), and per layer its shapes, parameter count,
    FLOPs, output (activation) with `grad_fn` and the gradient of the final target with respect
    to it, and its parameters (named as in `state_dict()`, e.g. `0.weight`) with their gradients.
    Values are returned where `include` names them. A layer that does not fit what the previous
    one gives is a 422 naming the layer's index, what it receives, and the fix; `warnings` name
    convolutions or pools that silently drop trailing rows or columns.
    """
    return OrjsonResponse(inspect_model(request, runtime))


@router.post(
    "/summary",
    summary="The shape, parameter, FLOPs and memory table of a pipeline, without data",
    response_model=ModelSummaryResponse,
    responses=PROBLEM_RESPONSES | TEXT_RESPONSE,
)
def summary(
    request: Annotated[ModelSummaryRequest, Body(openapi_examples=SUMMARY_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    format: Annotated[
        Literal["json", "text"] | None,
        Query(description="`text` for a torchinfo-style table; default: by `Accept`, else JSON."),
    ] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Response:
    """Walk `layers` on PyTorch's meta device for an input of `input_shape`: every layer's input
    and output shape, parameter count and bytes, and forward FLOPs (FlopCounterMode's count: a
    multiply-add is 2; activations and pooling count 0), plus the totals and torchinfo's memory
    estimate. Nothing is allocated and no data is computed, so large shapes answer in
    milliseconds. The table equals the one /v1/models/inspect returns for the same model.
    """
    table = summarize_model(request, runtime.settings.max_layers)
    if wants_text(format, accept):
        return PlainTextResponse(render_text(table))
    return OrjsonResponse(table)


@router.post(
    "/inspect/upload",
    summary="Inspect a pipeline on an uploaded image (multipart form)",
    response_model=ModelInspectResponse,
    responses=UPLOAD_RESPONSES,
    description=IMAGE_FORM_DOC,
    dependencies=[TorchJob],
)
def inspect_upload(
    image: Annotated[UploadFile, File(description="The image file.")],
    spec: Annotated[
        str,
        Form(
            description="The model inspect request as JSON, without `input`.",
            json_schema_extra=json_part(ModelUploadSpec),
        ),
    ],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    input: Annotated[
        str | None,
        Form(
            description="Preprocessing options as JSON (optional).",
            json_schema_extra=json_part(ImageInputOptions),
        ),
    ] = None,
) -> Response:
    """Like POST /v1/models/inspect, with the uploaded image, preprocessed to [1, 1, H, W], as
    the input; the response echoes each preprocessing step under `preprocessing`."""
    request, plan = upload_request(spec, input, image.file, ModelInspectRequest, runtime.settings)
    return OrjsonResponse(inspect_model(request, runtime, plan))


@router.post(
    "/render",
    summary="Run a pipeline and draw one layer's tensor as a PNG",
    response_class=Response,
    responses=PNG_RESPONSES,
    dependencies=[TorchJob],
)
def render(
    request: ModelRenderRequest, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Response:
    """The model inspect request plus `layer` (index), `view` (that layer's input, weights,
    output, input_grad or weight_grad), `colormap`, `normalize`, `scale` and `columns`: a PNG
    grid, one tile per channel or kernel."""
    return Response(render_model(request, runtime), media_type="image/png")
