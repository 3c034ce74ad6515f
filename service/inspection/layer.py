"""POST /v1/layers/inspect (and its upload and render forms): plan, build, run, report one layer."""

from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from schemas.requests import LayerInspectRequest, LayerRenderRequest
from service.building.layer_builder import build_layer, describe_layer
from service.building.weights import materialize
from service.images.rendering import default_colormap, default_images, render_png, view_tensor
from service.inspection.labels import label_report
from service.inspection.preparation import Prepared, prepare
from service.planning.inputs import InputPlan, echo_bytes
from service.planning.model_plan import single_naming
from service.planning.response_size import (
    ResponseEstimate,
    add_images,
    add_run,
    check_response_size,
)
from service.running.execution import Execution, run
from service.runtime import Runtime
from service.tensors.report import TensorReporter


@dataclass
class LayerRun:
    """One layer, run: the module, its tensors, and how it was planned."""

    module: nn.Module
    done: Execution
    prepared: Prepared
    weight_seed: int | None

    @property
    def plan(self) -> InputPlan:
        """How the input was made."""
        return self.prepared.plan


def run_layer(
    request: LayerInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> LayerRun:
    """Plan, build and run the layer as the request asks.

    `plan` replaces `request.input` when the input was made elsewhere (an uploaded image).
    """
    settings = runtime.settings
    ready = prepare(request, [request.layer], runtime, plan, single_naming)
    layer = ready.model_plan.layers[0]
    check_response_size(estimate_response(request, ready), settings.max_response_bytes)
    module, weight_seed = materialize(
        partial(build_layer, request.layer),
        layer.meta,
        request.weights,
        "body.weights.state",
        settings.max_tensor_elements,
        cache_key=request.layer.model_dump_json(),
        dtypes=ready.dtypes,
    )
    done = run(
        module,
        ready.plan.make(),
        ready.config,
        requires_grad=ready.plan.requires_grad,
        backward=request.backward,
        grad_output=ready.grad_output,
    )
    return LayerRun(module, done, ready, weight_seed)


def estimate_response(request: LayerInspectRequest, ready: Prepared) -> ResponseEstimate:
    """Bound the response's bytes from the plan (see service.planning.response_size)."""
    layer, plan = ready.model_plan.layers[0], ready.plan
    state = {n: list(t.shape) for n, t in layer.meta.state_dict().items()}
    parameters = {n: list(p.shape) for n, p in layer.meta.named_parameters()}
    estimate = ResponseEstimate(request.encoding)
    estimate.text(len(repr(layer.meta)) + 128 * len(ready.dtypes.casts))
    estimate.text(echo_bytes(plan))
    add_run(
        estimate,
        include=request.include,
        backward=ready.backward,
        input_shape=plan.shape,
        input_grad=plan.requires_grad,
        outputs=[layer.output_shape],
        parameters=list(parameters.values()),
        buffers=[shape for name, shape in state.items() if name not in parameters],
        item_size=ready.dtypes.compute.itemsize,
        input_item_size=plan.dtype.itemsize,
    )
    if "images" in request.include:
        add_images(
            estimate,
            input=plan.shape,
            output=layer.output_shape,
            weight=parameters.get("weight"),
            backward=ready.backward,
            input_grad=plan.requires_grad,
            spatial_dims=request.layer.SPATIAL_DIMS,
        )
    return estimate


def weight_of(module: nn.Module) -> torch.Tensor | None:
    """The module's `weight` tensor (conv, linear), or None for layers without one."""
    weight = getattr(module, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else None


def inspect_layer(
    request: LayerInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> dict[str, Any]:
    """Run one layer as the request asks and return the response body (not yet encoded)."""
    return layer_body(request, runtime, run_layer(request, runtime, plan))


def layer_body(
    request: LayerInspectRequest, runtime: Runtime, done_run: LayerRun
) -> dict[str, Any]:
    """The response body of a layer run (not yet encoded)."""
    module, done, ready = done_run.module, done_run.done, done_run.prepared
    backward = request.backward is not None
    report = TensorReporter(request.include, request.encoding, backward)
    body: dict[str, Any] = {
        "layer": describe_layer(request.layer, module),
        "device": str(ready.config.device),
        "mode": request.mode,
        "dtype": request.dtype,
        "casts": ready.dtypes.casts,
        "seeds": {
            "input": done_run.plan.seed,
            "weights": done_run.weight_seed,
            "forward": request.forward_seed,
        },
        "timing_ms": {"forward_ms": done.forward_ms, "backward_ms": done.backward_ms},
        "input": report.leaf(done.input, "input"),
        "output": report.output(done.output),
        "parameters": report.parameters(module),
        "buffers": report.buffers(module),
    }
    if done_run.plan.preprocessing is not None:
        body["preprocessing"] = done_run.plan.preprocessing
    labels = label_report(done_run.plan.labels, done.output)
    if labels is not None:
        body["labels"] = labels
    if "images" in request.include:
        body["images"] = default_images(
            input=done.input,
            output=done.output,
            weight=weight_of(module),
            backward=backward,
            input_grad=done.input.grad,
            max_pixels=runtime.settings.max_render_pixels,
            spatial_dims=request.layer.SPATIAL_DIMS,
        )
    return body


def render_layer(request: LayerRenderRequest, runtime: Runtime) -> bytes:
    """Run one layer and draw the tensor `view` names as a PNG grid."""
    done_run = run_layer(request.model_copy(update={"include": []}), runtime)
    return layer_picture(request, runtime, done_run)


def layer_picture(request: LayerRenderRequest, runtime: Runtime, done_run: LayerRun) -> bytes:
    """The PNG grid of the tensor `view` names, of a layer run."""
    tensor = view_tensor(
        request.view,
        input=done_run.done.input,
        output=done_run.done.output,
        weight=weight_of(done_run.module),
        backward=request.backward is not None,
        input_grad=done_run.done.input.grad,
    )
    return render_png(
        tensor,
        colormap=request.colormap or default_colormap(request.view),
        normalize=request.normalize,
        scale=request.scale,
        columns=request.columns,
        max_pixels=runtime.settings.max_render_pixels,
        spatial_dims=request.layer.SPATIAL_DIMS,
    )
