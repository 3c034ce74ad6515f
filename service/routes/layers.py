"""Inspection of one layer."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, File, Form, Header, UploadFile
from starlette.responses import Response

from schemas.examples import LAYER_EXAMPLES
from schemas.images import ImageInputOptions
from schemas.requests import LayerInspectRequest, LayerRenderRequest, LayerUploadSpec
from schemas.responses import LayerInspectResponse
from service.errors import PROBLEM_RESPONSES
from service.inspection.layer import inspect_layer, render_layer
from service.inspection.upload_forms import json_part, upload_request
from service.negotiation import encoding_for
from service.runtime import Runtime, TorchJob, get_runtime
from service.tensors.safetensors_body import SAFETENSORS_CONTENT, tensor_response

router = APIRouter(prefix="/v1/layers", tags=["layers"])


@router.post(
    "/inspect",
    summary="Run one layer forward (and backward) and return everything",
    response_model=LayerInspectResponse,
    responses=PROBLEM_RESPONSES | SAFETENSORS_CONTENT,
    dependencies=[TorchJob],
)
def inspect(
    request: Annotated[LayerInspectRequest, Body(openapi_examples=LAYER_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Build the layer (any of the 45 `torch.nn` layer types and 26 activations of
    docs/layers.md) with PyTorch's own arguments, make its input (seeded random values,
    explicit data or MNIST digits), run it forward on the chosen device in `mode` and `dtype`,
    and backward when `backward` is given.

    Returns the layer's repr and parameter counts; the input, output and parameters as tensor
    objects (shape, dtype, stats, and values when `include` names them), the output's
    `grad_fn`, and every gradient after a backward pass. A shape that does not fit the layer
    is a 422 that says what the layer expects and which argument to set.

    An MNIST input may be one digit, listed digits (`indices`) or a DataLoader batch
    (`batch_size`, `shuffle`, `seed`, `batch`, `drop_last`); `labels` then holds the targets.
    """
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(inspect_layer(request, runtime), encoding)


IMAGE_FORM_DOC = (
    "`image`: the file (PNG, JPEG, BMP, GIF first frame, WebP); several `image` files make one "
    "batch [N, 1, H, W], in the order sent (at most LAYERSCOPE_MAX_BATCH_SIZE, checked before "
    "any is read); `spec`: the JSON request without `input`; `input` (optional): JSON "
    '`{"preprocess": {"invert": "auto", "size": 28, "mean": 0.5, "std": 1.0}, '
    '"requires_grad": true}`.'
)
UPLOAD_RESPONSES = PROBLEM_RESPONSES | {
    status: PROBLEM_RESPONSES[422] | {"description": phrase + " (problem details)"}
    for status, phrase in ((413, "Too large"), (415, "Not an image this service reads"))
}
PNG_RESPONSES = {
    200: {"content": {"image/png": {}}, "description": "The picture, a PNG grid of tiles."}
} | PROBLEM_RESPONSES


@router.post(
    "/inspect/upload",
    summary="Inspect one layer on an uploaded image (multipart form)",
    response_model=LayerInspectResponse,
    responses=UPLOAD_RESPONSES | SAFETENSORS_CONTENT,
    description=IMAGE_FORM_DOC,
    dependencies=[TorchJob],
)
def inspect_upload(
    image: Annotated[
        list[UploadFile],
        File(description="The image file; several `image` files make one batch, in order."),
    ],
    spec: Annotated[
        str,
        Form(
            description="The inspect request as JSON, without `input`.",
            json_schema_extra=json_part(LayerUploadSpec),
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
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Like POST /v1/layers/inspect, with the uploaded image, preprocessed to [1, 1, H, W]
    (grayscale, invert, fit and centre, ToTensor, Normalize), as the input, or several
    uploaded images as one batch [N, 1, H, W] in the order sent; the response echoes each
    preprocessing step under `preprocessing` (each file's under `preprocessing.samples`)."""
    request, plan = upload_request(
        spec, input, [file.file for file in image], LayerInspectRequest, runtime.settings
    )
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(inspect_layer(request, runtime, plan), encoding)


@router.post(
    "/render",
    summary="Run one layer and draw a tensor as a PNG",
    response_class=Response,
    responses=PNG_RESPONSES,
    dependencies=[TorchJob],
)
def render(
    request: LayerRenderRequest, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> Response:
    """The inspect request plus `view` (input, weights, output, input_grad, weight_grad),
    `colormap`, `normalize` (global or per_tile), `scale` and `columns`: a PNG grid with one
    tile per channel or kernel (torchvision make_grid, 1 white pixel between tiles), upscaled
    by `scale`."""
    return Response(render_layer(request, runtime), media_type="image/png")
