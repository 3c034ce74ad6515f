"""Models (pipelines of layers, torchvision architectures): inspect module by module, summarise
on meta, draw a module, list the architectures."""

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Query
from starlette.responses import PlainTextResponse, Response

from schemas.examples import MODEL_EXAMPLES, SUMMARY_EXAMPLES
from schemas.models import (
    ModelCatalog,
    ModelFormSpec,
    ModelInspectRequest,
    ModelInspectResponse,
    ModelRenderFormSpec,
    ModelRenderRequest,
    ModelSummaryRequest,
    ModelSummaryResponse,
)
from service.errors import PROBLEM_RESPONSES
from service.inspection.catalog import architecture_catalog
from service.inspection.model import inspect_model, render_model
from service.inspection.summary import summarize_model, summary_text
from service.inspection.upload_forms import model_form
from service.negotiation import encoding_for, wants_text
from service.orjson_response import OrjsonResponse
from service.routes.forms import ModelUpload, model_upload_form
from service.routes.layers import PNG_RESPONSES, UPLOAD_RESPONSES
from service.runtime import Runtime, TorchJob, get_runtime
from service.tensors.safetensors_body import SAFETENSORS_CONTENT, tensor_response

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
    responses=PROBLEM_RESPONSES | SAFETENSORS_CONTENT,
    dependencies=[TorchJob],
)
def inspect(
    request: Annotated[ModelInspectRequest, Body(openapi_examples=MODEL_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
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

    An MNIST input takes one digit (`index`), listed digits (`indices`) or the batch a
    `DataLoader(batch_size, shuffle, drop_last, generator=torch.Generator().manual_seed(seed))`
    yields (`batch_size`, `batch`), with the seed's ToTensor and Normalize; `labels` then holds
    the targets and, for an [N, 10] output, the argmax per sample and how many match.
    """
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(inspect_model(request, runtime), encoding)


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
    if wants_text(format, accept):
        return PlainTextResponse(summary_text(request, runtime.settings))
    return OrjsonResponse(summarize_model(request, runtime.settings))


WEIGHTS_FORMS = ("/v1/models/inspect/upload", "/v1/models/render/upload")
"""The forms that may carry a safetensors weights file (their bodies may be larger)."""

MODEL_FORM_DOC = (
    "`spec`: the JSON request; `image` (optional, repeatable): image files that replace "
    "`spec.input` (PNG, JPEG, BMP, GIF first frame, WebP; several make one batch, in order); "
    '`input` (optional, with images): `{"preprocess": {"invert": "auto", "size": 28, '
    '"mean": 0.5, "std": 1.0}, "requires_grad": true}`; `weights` (optional): a safetensors '
    "file of the model's `state_dict()` (keys, shapes and dtypes checked; never a pickle), in "
    "place of `spec.weights`."
)
FORM_RESPONSES = UPLOAD_RESPONSES


@router.post(
    "/inspect/upload",
    summary="Inspect a model with uploaded images and/or safetensors weights (multipart form)",
    response_model=ModelInspectResponse,
    responses=FORM_RESPONSES | SAFETENSORS_CONTENT,
    description=MODEL_FORM_DOC,
    dependencies=[TorchJob],
)
def inspect_upload(
    form: Annotated[ModelUpload, Depends(model_upload_form(ModelFormSpec, "model inspect"))],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Like POST /v1/models/inspect, with uploaded images as the input (each preprocessed to
    [1, H, W]; several make one batch [N, 1, H, W] in the order sent; the response echoes each
    preprocessing step under `preprocessing`), and/or the model's weights from a safetensors
    file: every key of `state_dict()`, nothing more, each of its shape and dtype (a missing,
    unexpected, misshapen or mistyped key is a 422 naming it; a file whose header is too large
    or whose byte ranges lie outside it is a 4xx naming the range)."""
    request, plan, data = model_form(
        form.spec, form.options, form.images, form.weights, ModelInspectRequest, runtime.settings
    )
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(inspect_model(request, runtime, plan, data), encoding)


@router.post(
    "/render/upload",
    summary="Draw one module's tensor of a model with uploaded images and/or weights (multipart)",
    response_class=Response,
    responses=PNG_RESPONSES | FORM_RESPONSES,
    description=MODEL_FORM_DOC,
    dependencies=[TorchJob],
)
def render_upload(
    form: Annotated[ModelUpload, Depends(model_upload_form(ModelRenderFormSpec, "model render"))],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Response:
    """Like POST /v1/models/render, with the upload form of POST /v1/models/inspect/upload."""
    request, plan, data = model_form(
        form.spec, form.options, form.images, form.weights, ModelRenderRequest, runtime.settings
    )
    return Response(render_model(request, runtime, plan, data), media_type="image/png")


@router.post(
    "/render",
    summary="Run a model and draw one module's tensor as a PNG",
    response_class=Response,
    responses=PNG_RESPONSES,
    dependencies=[TorchJob],
)
def render(
    request: ModelRenderRequest, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Response:
    """The model inspect request plus `layer` (a module's qualified name, or a pipeline layer's
    index), `view` (that module's input, weights, output, input_grad or weight_grad),
    `colormap`, `normalize`, `scale` and `columns`: a PNG grid, one tile per channel or
    kernel."""
    return Response(render_model(request, runtime), media_type="image/png")


@router.get(
    "",
    summary="The torchvision architectures `model` takes, with their keywords",
    response_model=ModelCatalog,
)
def catalog() -> Response:
    """Every classification architecture of `torchvision.models.list_models()`: its class,
    parameter count (random weights, default keywords), default input size, the smallest
    input torchvision documents, and the constructor keywords `model.kwargs` may set."""
    return OrjsonResponse(architecture_catalog())
