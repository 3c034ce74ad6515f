"""POST /v1/layers/inspect (and its upload and render forms): plan, build, run, report one layer."""

from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from schemas.requests import LayerInspectRequest, LayerRenderRequest
from service.building.layer_builder import build_layer, build_on_meta, describe_layer, layer_label
from service.building.module_cache import meta_module
from service.building.weights import materialize
from service.devices import resolve_device
from service.images.rendering import default_colormap, default_images, render_png, view_tensor
from service.planning.fit import fit
from service.planning.inputs import InputPlan, plan_grad_output, plan_input
from service.planning.limits import check_totals
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
    """One layer, run: the module, its tensors, and how its input was made."""

    module: nn.Module
    done: Execution
    plan: InputPlan
    weight_seed: int | None
    device: torch.device


def run_layer(
    request: LayerInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> LayerRun:
    """Plan, build and run the layer as the request asks.

    `plan` replaces `request.input` when the input was made elsewhere (an uploaded image).
    """
    settings = runtime.settings
    device = resolve_device(request.device, runtime.device)
    plan = plan if plan is not None else plan_input(request.input, settings)
    key = request.layer.model_dump_json()
    meta = meta_module(key, partial(build_on_meta, request.layer))
    out_shape = fit(request.layer, meta, plan.shape, layer_label(request.layer), "body.layer")
    parameters = {n: list(p.shape) for n, p in meta.named_parameters()}
    shapes = {"body.input": plan.shape, "output": out_shape}
    shapes |= {f"parameters.{n}": shape for n, shape in parameters.items()}
    backward = request.backward is not None
    check_totals(shapes, backward=backward, settings=settings)
    estimate = ResponseEstimate(request.encoding)
    estimate.text(len(repr(meta)))
    add_run(
        estimate,
        include=request.include,
        backward=backward,
        input_shape=plan.shape,
        input_grad=plan.requires_grad,
        outputs=[out_shape],
        parameters=list(parameters.values()),
    )
    if "images" in request.include:
        add_images(
            estimate,
            input=plan.shape,
            output=out_shape,
            weight=parameters.get("weight"),
            backward=backward,
            input_grad=plan.requires_grad,
        )
    check_response_size(estimate, settings.max_response_bytes)
    grad_output = plan_grad_output(request.backward, out_shape, settings)
    module, weight_seed = materialize(
        partial(build_layer, request.layer),
        meta,
        request.weights,
        "body.weights.state",
        settings.max_tensor_elements,
        cache_key=key,
    )
    done = run(
        module,
        plan.make(),
        device=device,
        requires_grad=plan.requires_grad,
        backward=request.backward,
        grad_output=grad_output,
    )
    return LayerRun(module, done, plan, weight_seed, device)


def weight_of(module: nn.Module) -> torch.Tensor | None:
    """The module's `weight` tensor (conv, linear), or None for layers without one."""
    weight = getattr(module, "weight", None)
    return weight if isinstance(weight, torch.Tensor) else None


def inspect_layer(
    request: LayerInspectRequest, runtime: Runtime, plan: InputPlan | None = None
) -> dict[str, Any]:
    """Run one layer as the request asks and return the response body (not yet encoded)."""
    done_run = run_layer(request, runtime, plan)
    module, done = done_run.module, done_run.done
    backward = request.backward is not None
    report = TensorReporter(request.include, request.encoding, backward)
    body: dict[str, Any] = {
        "layer": describe_layer(request.layer, module),
        "device": str(done_run.device),
        "seeds": {"input": done_run.plan.seed, "weights": done_run.weight_seed},
        "timing_ms": {"forward_ms": done.forward_ms, "backward_ms": done.backward_ms},
        "input": report.leaf(done.input, "input"),
        "output": report.output(done.output),
        "parameters": report.parameters(module),
    }
    if done_run.plan.preprocessing is not None:
        body["preprocessing"] = done_run.plan.preprocessing
    if "images" in request.include:
        body["images"] = default_images(
            input=done.input,
            output=done.output,
            weight=weight_of(module),
            backward=backward,
            input_grad=done.input.grad,
            max_pixels=runtime.settings.max_render_pixels,
        )
    return body


def render_layer(request: LayerRenderRequest, runtime: Runtime) -> bytes:
    """Run one layer and draw the tensor `view` names as a PNG grid."""
    done_run = run_layer(request.model_copy(update={"include": []}), runtime)
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
    )
