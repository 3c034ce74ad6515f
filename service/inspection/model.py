"""POST /v1/models/inspect (and its upload and render forms): plan a pipeline on meta, build
it, run it, report every layer."""

from dataclasses import dataclass
from functools import partial
from typing import Any

import orjson
import torch
from torch import nn

from schemas.models import ModelInspectRequest, ModelRenderRequest
from service.building.layer_builder import build_model
from service.building.weights import materialize
from service.errors import unprocessable
from service.images.rendering import default_colormap, default_images, render_png, view_tensor
from service.inspection.labels import label_report
from service.inspection.layer import weight_of
from service.inspection.preparation import Prepared, prepare
from service.planning.inputs import InputPlan, echo_bytes
from service.planning.model_plan import ModelPlan, pipeline_naming
from service.planning.response_size import (
    ResponseEstimate,
    add_images,
    add_run,
    check_response_size,
)
from service.running.capture import Capture, capture
from service.running.execution import Execution, run
from service.runtime import Runtime
from service.tensors.report import TensorReporter


@dataclass
class ModelRun:
    """One pipeline, run: the model, its tensors, every layer's output and gradient."""

    model: nn.Module
    done: Execution
    found: Capture
    prepared: Prepared
    weight_seed: int | None

    @property
    def plan(self) -> InputPlan:
        """How the input was made."""
        return self.prepared.plan

    @property
    def model_plan(self) -> ModelPlan:
        """The layers as planned on meta."""
        return self.prepared.model_plan


def run_model(
    request: ModelInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> ModelRun:
    """Plan, build and run the pipeline as the request asks.

    Everything about sizes is checked on meta first (each layer's fit, each tensor's elements,
    all of them together); then the real `nn.Sequential` runs once, with hooks that only read
    each layer's output and its gradient, and are removed afterwards, also on error. `plan`
    replaces `request.input` when the input was made elsewhere (an uploaded image).
    """
    settings = runtime.settings
    ready = prepare(request, request.layers, runtime, plan, pipeline_naming)
    check_response_size(_estimate(request, ready), settings.max_response_bytes)
    model, weight_seed = materialize(
        partial(build_model, request.layers),
        ready.model_plan.meta_model(),
        request.weights,
        "body.weights.state",
        settings.max_tensor_elements,
        dtypes=ready.dtypes,
    )
    with capture(model) as found:
        done = run(
            model,
            ready.plan.make(),
            ready.config,
            requires_grad=ready.plan.requires_grad,
            backward=request.backward,
            grad_output=ready.grad_output,
        )
    return ModelRun(model, done, found, ready, weight_seed)


def _estimate(request: ModelInspectRequest, ready: Prepared) -> ResponseEstimate:
    """Bound the response's bytes from the plan: the table as it will be written, every
    tensor object, the values `include` names, and each layer's pictures."""
    model_plan, plan = ready.model_plan, ready.plan
    estimate = ResponseEstimate(request.encoding)
    estimate.text(len(orjson.dumps(model_plan.table())) + 128 * len(ready.dtypes.casts))
    estimate.text(echo_bytes(plan))
    layers = model_plan.layers
    parameters = [list(p.shape) for layer in layers for p in layer.meta.parameters()]
    buffers = [list(b.shape) for layer in layers for b in layer.meta.buffers()]
    add_run(
        estimate,
        include=request.include,
        backward=ready.backward,
        input_shape=model_plan.input_shape,
        input_grad=plan.requires_grad,
        outputs=[layer.output_shape for layer in layers],
        parameters=parameters,
        buffers=buffers,
        item_size=ready.dtypes.compute.itemsize,
        input_item_size=plan.dtype.itemsize,
    )
    if "images" in request.include:
        add_images(
            estimate,
            input=model_plan.input_shape,
            output=model_plan.output_shape,
            weight=None,
            backward=ready.backward,
            input_grad=plan.requires_grad,
            spatial_dims=request.layers[0].SPATIAL_DIMS,
        )
        for layer in layers:
            weight = getattr(layer.meta, "weight", None)
            add_images(
                estimate,
                input=layer.input_shape,
                output=layer.output_shape,
                weight=list(weight.shape) if isinstance(weight, torch.Tensor) else None,
                backward=ready.backward,
                input_grad=plan.requires_grad or layer.index > 0,
                spatial_dims=layer.spec.SPATIAL_DIMS,
            )
    return estimate


def inspect_model(
    request: ModelInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> dict[str, Any]:
    """Run the pipeline as the request asks and return the response body (not yet encoded)."""
    done_run = run_model(request, runtime, plan)
    model, done, found = done_run.model, done_run.done, done_run.found
    backward = request.backward is not None
    report = TensorReporter(request.include, request.encoding, backward)
    table = done_run.model_plan.table()
    layer_input, input_grad = done.input, done.input.grad
    for row, spec, layer, output, grad in zip(
        table["layers"], request.layers, model.children(), found.outputs, found.grads, strict=True
    ):
        assert output is not None, "every layer of an nn.Sequential runs once"
        row["output"] = report.output(output, grad)
        row["parameters"] = report.parameters(layer, prefix=f"{row['index']}.")
        row["buffers"] = report.buffers(layer, prefix=f"{row['index']}.")
        if "images" in request.include:
            row["images"] = default_images(
                input=layer_input,
                output=output,
                weight=weight_of(layer),
                backward=backward,
                input_grad=input_grad,
                max_pixels=runtime.settings.max_render_pixels,
                spatial_dims=spec.SPATIAL_DIMS,
            )
        layer_input, input_grad = output, grad
    ready = done_run.prepared
    body: dict[str, Any] = table | {
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
            weight=None,
            backward=backward,
            input_grad=done.input.grad,
            max_pixels=runtime.settings.max_render_pixels,
            spatial_dims=request.layers[0].SPATIAL_DIMS,
        )
    return body


def render_model(request: ModelRenderRequest, runtime: Runtime) -> bytes:
    """Run the pipeline and draw the tensor `view` names, of layer `layer`, as a PNG grid.

    A layer's input is the previous layer's output (the model input for layer 0); its
    `input_grad` is the gradient of the target with respect to that input.
    """
    count = len(request.layers)
    if request.layer >= count:
        raise unprocessable(
            "no-such-layer",
            "body.layer",
            f"layer {request.layer} does not exist: the pipeline has layers 0..{count - 1}",
            f"use a layer index from 0 to {count - 1}",
        )
    done_run = run_model(request.model_copy(update={"include": []}), runtime)
    done, found, i = done_run.done, done_run.found, request.layer
    layer_input = done.input if i == 0 else found.outputs[i - 1]
    layer_output = found.outputs[i]
    assert layer_input is not None and layer_output is not None
    tensor = view_tensor(
        request.view,
        input=layer_input,
        output=layer_output,
        weight=weight_of(list(done_run.model.children())[i]),
        backward=request.backward is not None,
        input_grad=done.input.grad if i == 0 else found.grads[i - 1],
    )
    return render_png(
        tensor,
        colormap=request.colormap or default_colormap(request.view),
        normalize=request.normalize,
        scale=request.scale,
        columns=request.columns,
        max_pixels=runtime.settings.max_render_pixels,
        spatial_dims=request.layers[i].SPATIAL_DIMS,
    )
