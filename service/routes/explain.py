"""Explain: receptive fields, attributions (Captum) and what-if sweeps of one layer argument."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header
from starlette.responses import Response

from schemas.explain import (
    AttributeFormSpec,
    AttributeRequest,
    AttributeResponse,
    LayerSweepRequest,
    LayerSweepResponse,
    ReceptiveFieldRequest,
    ReceptiveFieldResponse,
)
from schemas.explain_examples import ATTRIBUTE_EXAMPLES, RECEPTIVE_FIELD_EXAMPLES, SWEEP_EXAMPLES
from service.errors import PROBLEM_RESPONSES
from service.explain.attribution import attribute
from service.explain.receptive_field import receptive_field
from service.explain.sweep import sweep
from service.inspection.upload_forms import model_form
from service.negotiation import encoding_for
from service.orjson_response import OrjsonResponse
from service.routes.forms import ModelUpload, model_upload_form
from service.routes.layers import UPLOAD_RESPONSES
from service.routes.models import MODEL_FORM_DOC
from service.runtime import Runtime, TorchJob, get_runtime
from service.tensors.safetensors_body import SAFETENSORS_CONTENT, tensor_response

router = APIRouter(tags=["explain"])

WEIGHTS_FORMS = ("/v1/models/attribute/upload",)
"""The forms that may carry a safetensors weights file (their bodies may be larger)."""


@router.post(
    "/v1/models/receptive-field",
    summary="The input box one unit of a module sees, or the units that see an input box",
    response_model=ReceptiveFieldResponse,
    responses=PROBLEM_RESPONSES,
    dependencies=[TorchJob],
)
def receptive_field_route(
    request: Annotated[ReceptiveFieldRequest, Body(openapi_examples=RECEPTIVE_FIELD_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> Response:
    """Walk the model on PyTorch's meta device (no data) following every op with the
    receptive-field recurrence, then answer for the module `module` (qualified name, or a
    pipeline layer's index): for `unit` (a channel and a position per spatial axis of its
    output), the input positions it sees (`window`, which may run past the input where layers
    pad, and `window_in_input`); for `box` (input positions per axis, both ends included), the
    positions of its output whose window meets the box (`units`). `png` adds the input with
    the box drawn in red. A unit or box outside the shapes is a 422 naming the valid range; a
    module past a global pooling, a flatten or a squeeze-and-excitation has no receptive field
    (422 with the reason)."""
    return OrjsonResponse(receptive_field(request, runtime.settings))


@router.post(
    "/v1/models/attribute",
    summary="Attribute a model's output to its input or a layer with Captum, with a heat map",
    response_model=AttributeResponse,
    responses=PROBLEM_RESPONSES | SAFETENSORS_CONTENT,
    dependencies=[TorchJob],
)
def attribute_route(
    request: Annotated[AttributeRequest, Body(openapi_examples=ATTRIBUTE_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Build the model (a pipeline or a torchvision architecture, weights as
    /v1/models/inspect takes them) and run Captum's `method` on the input: `saliency`,
    `input_x_gradient`, `integrated_gradients` (`baselines`, `n_steps`,
    `internal_batch_size`; its convergence delta comes back), `occlusion`
    (`sliding_window_shapes`, `strides`, `baselines`, `perturbations_per_eval`),
    `layer_gradcam` and `layer_activation` at the module `layer`. Options keep Captum's names
    and defaults; `target` is Captum's. Returns the attribution (values in JSON, base64 or a
    safetensors body), the model's output, and a heat map over the input (diverging colours
    centred on zero). The target, the layer and the elements every pass holds (n_steps x
    batch, windows x batch) are checked before anything runs."""
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(attribute(request, runtime), encoding)


@router.post(
    "/v1/models/attribute/upload",
    summary="Attribute with uploaded images and/or safetensors weights (multipart form)",
    response_model=AttributeResponse,
    responses=UPLOAD_RESPONSES | SAFETENSORS_CONTENT,
    description=MODEL_FORM_DOC,
    dependencies=[TorchJob],
)
def attribute_upload(
    form: Annotated[ModelUpload, Depends(model_upload_form(AttributeFormSpec, "attribute"))],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Like POST /v1/models/attribute, with the upload form of POST /v1/models/inspect/upload."""
    request, plan, data = model_form(
        form.spec, form.options, form.images, form.weights, AttributeRequest, runtime.settings
    )
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(attribute(request, runtime, plan, data), encoding)


@router.post(
    "/v1/layers/sweep",
    summary="Run one layer for each value of one argument, side by side",
    response_model=LayerSweepResponse,
    responses=PROBLEM_RESPONSES | SAFETENSORS_CONTENT,
    dependencies=[TorchJob],
)
def sweep_route(
    request: Annotated[LayerSweepRequest, Body(openapi_examples=SWEEP_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """The inspect request of one layer, plus `argument` (one of the layer's arguments:
    `kernel_size`, `stride`, `padding`, `dilation`, `groups`, an activation's `name`, ...) and
    `values`: for each value, what POST /v1/layers/inspect answers for the layer with that
    value (`result`: output shape, stats, values as `include` asks) and the picture POST
    /v1/layers/render draws (`image`, of `view`), or the problem details inspect would answer
    (`problem`, with its `status`) where the value does not fit; `strip` draws every value's
    picture side by side. A value that does not fit never fails the sweep."""
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(sweep(request, runtime), encoding)
