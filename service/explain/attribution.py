"""POST /v1/models/attribute: Captum's attributions of a model's output, with their heat map.

The model (a pipeline or a torchvision architecture), its input and weights are planned and
built as POST /v1/models/inspect does (service.inspection); Captum's own classes then run on it
with Captum's argument names (`Saliency`, `InputXGradient`, `IntegratedGradients` with its
convergence delta, `Occlusion`, and `LayerGradCam` / `LayerActivation` at
`model.get_submodule(layer)`), nothing re-implemented. Captum is imported on first use.

Everything about sizes is checked on meta before anything runs: the target against the
output's shape, the layer against the modules that run, and the elements:

- at once: what one of Captum's forward (and backward) passes holds, the batch of that pass
  (IntegratedGradients: n_steps x batch scaled inputs, in chunks of `internal_batch_size`;
  Occlusion: `perturbations_per_eval` x batch) times every module's output per sample, doubled
  for the gradients, plus the parameters, within LAYERSCOPE_MAX_TOTAL_ELEMENTS;
- in all: the samples all passes run (n_steps x batch; windows x batch for Occlusion) times the
  elements per sample, within WORK_PASSES x LAYERSCOPE_MAX_TOTAL_ELEMENTS, so that no request
  runs for long however small its chunks;
- the response and the heat map, within LAYERSCOPE_MAX_RESPONSE_BYTES and
  LAYERSCOPE_MAX_RENDER_PIXELS.
"""

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from schemas.explain import AttributeRequest
from schemas.requests import RunOptions
from service.building.seeding import seeded
from service.devices import synchronize
from service.errors import ProblemError, unprocessable
from service.explain.pictures import heatmap_png, heatmap_size
from service.explain.receptive_field import find_call, module_name
from service.images.pixel_limit import check_pixels
from service.images.rendering import data_uri
from service.inspection.labels import label_report
from service.inspection.model_source import (
    Source,
    architecture_source,
    build_source,
    pipeline_source,
)
from service.inspection.preparation import RunSetup, setup_run
from service.jobs import check_deadline
from service.networks.module_tree import flat_shape
from service.planning.fit import Received
from service.planning.inputs import InputPlan, echo_bytes
from service.planning.limits import check_elements, numel
from service.planning.response_size import ResponseEstimate, check_response_size
from service.planning.tree_plan import TreePlan, plan_tree
from service.running.execution import out_of_memory_as_503, torch_refusals_as_422
from service.runtime import Runtime
from service.settings import Settings
from service.tensors.codec import encode

WORK_PASSES = 64
"""An attribution may run the samples of this many full-limit passes in all."""

CAPTUM_CLASSES = {
    "saliency": "Saliency",
    "input_x_gradient": "InputXGradient",
    "integrated_gradients": "IntegratedGradients",
    "occlusion": "Occlusion",
    "layer_gradcam": "LayerGradCam",
    "layer_activation": "LayerActivation",
}
OPTION_NAMES = (
    "abs",
    "baselines",
    "n_steps",
    "internal_batch_size",
    "sliding_window_shapes",
    "strides",
    "perturbations_per_eval",
    "attribute_to_layer_input",
    "relu_attributions",
)


@dataclass
class Planned:
    """An attribution, planned: the run's setup, the model on meta, what Captum gets."""

    setup: RunSetup
    source: Source
    tree: TreePlan
    arguments: dict[str, Any]
    """Captum's `attribute` keywords (besides the inputs)."""
    layer: str | None
    targets: list[int] | None
    attribution_shape: list[int]


def run_options(request: AttributeRequest) -> RunOptions:
    """The request's run options as the inspection's setup takes them (nothing re-validated)."""
    return RunOptions.model_construct(
        input=request.input,
        weights=request.weights,
        backward=None,
        include=[],
        encoding=request.encoding,
        device=request.device,
        mode=request.mode,
        dtype=request.dtype,
        cast=request.cast,
        forward_seed=request.forward_seed,
    )


def _source(request: AttributeRequest, setup: RunSetup, settings: Settings) -> Source:
    received = Received(setup.plan.shape, setup.plan.dtype, setup.config.training)
    if request.layers is not None:
        return pipeline_source(request.layers, received, setup.dtypes.compute, settings)
    assert request.model is not None
    return architecture_source(request.model, received, setup.dtypes.compute)


def check_targets(request: AttributeRequest, output_shape: list[int]) -> list[int] | None:
    """Each sample's target, checked against the output's shape ([N, C]: 0..C-1); None where
    the output is one value per sample and no target is given."""
    samples = output_shape[0] if output_shape else 0
    scalar = len(output_shape) == 1 or (len(output_shape) == 2 and output_shape[1] == 1)
    if request.method == "layer_activation" or (request.target is None and scalar):
        return None
    if len(output_shape) != 2:
        raise unprocessable(
            "output-not-classes",
            "body.target",
            f"the model's output is {output_shape}; a target picks one class of an [N, C] output",
            "attribute a model whose output is one score per class ([N, C])",
        )
    classes = output_shape[1]
    if request.target is None:
        raise unprocessable(
            "target-missing",
            "body.target",
            f"the output {output_shape} has {classes} classes per sample; say which to attribute",
            f"set target to a class from 0 to {classes - 1} (or a list, one per sample)",
        )
    targets = request.target if isinstance(request.target, list) else [request.target] * samples
    if len(targets) != samples:
        raise unprocessable(
            "target-count",
            "body.target",
            f"{len(targets)} targets for {samples} samples",
            f"give one target for every sample ({samples}), or one number for all",
        )
    for i, target in enumerate(targets):
        if target >= classes:
            where = "body.target" if isinstance(request.target, int) else f"body.target.{i}"
            raise unprocessable(
                "out-of-range",
                where,
                f"target {target} is outside the output's classes, 0 to {classes - 1}",
                f"use a class from 0 to {classes - 1}",
                context={"value": target, "low": 0, "high": classes - 1},
            )
    return targets


def _windows(request: AttributeRequest, shape: list[int]) -> tuple[tuple[int, ...], int]:
    """Occlusion's window shape (checked against a sample's shape) and how many windows."""
    assert request.sliding_window_shapes is not None
    sample = shape[1:]
    window = request.sliding_window_shapes
    if len(window) != len(sample):
        raise unprocessable(
            "wrong-rank",
            "body.sliding_window_shapes",
            f"{len(window)} sizes for a sample of shape {sample} ({len(sample)} dimensions)",
            f"give one size per dimension of a sample, e.g. {[1] * (len(sample) - 2) + [3, 3]}",
        )
    strides = request.strides if request.strides is not None else 1
    steps = [strides] * len(sample) if isinstance(strides, int) else list(strides)
    if len(steps) != len(sample):
        raise unprocessable(
            "wrong-rank",
            "body.strides",
            f"{len(steps)} strides for a sample of shape {sample}",
            "give one stride per dimension of a sample, or one number",
        )
    count = 1
    for i, (size, width, step) in enumerate(zip(sample, window, steps, strict=True)):
        if not 1 <= width <= size:
            raise unprocessable(
                "out-of-range",
                f"body.sliding_window_shapes.{i}",
                f"a window of {width} on a dimension of {size}",
                f"use a size from 1 to {size}",
            )
        if not 1 <= step <= width:
            raise unprocessable(
                "out-of-range",
                f"body.strides.{i}" if isinstance(request.strides, list) else "body.strides",
                f"stride {step} is larger than the window, {width} (Captum's Occlusion refuses it)"
                if step > width
                else f"stride {step}",
                f"use a stride from 1 to {width}",
            )
        count *= (size - width) // step + 1
    return tuple(window), count


def check_work(request: AttributeRequest, tree: TreePlan, settings: Settings) -> None:
    """The element limits of the passes Captum will run (module docstring), before any runs."""
    shape = tree.input_shape
    samples = shape[0]
    per_sample = numel(shape) + sum(
        numel(flat_shape(call.output_shape)) for call in tree.rows if call.is_leaf
    )
    per_sample = math.ceil(per_sample / samples)
    largest = max(
        [numel(shape)] + [numel(flat_shape(call.output_shape)) for call in tree.rows]
    ) // max(samples, 1)
    weights = sum(p.numel() for p in tree.model.parameters())
    method = request.method
    backward = method not in ("occlusion", "layer_activation")
    batch, passes, field = samples, samples, "body.input"
    if method == "integrated_gradients":
        steps = request.n_steps or 50
        chunk = steps if request.internal_batch_size is None else request.internal_batch_size
        batch = min(steps, max(1, chunk // samples)) * samples
        passes, field = steps * samples, "body.internal_batch_size"
    elif method == "occlusion":
        _, windows = _windows(request, shape)
        batch = (request.perturbations_per_eval or 1) * samples
        passes, field = windows * samples, "body.perturbations_per_eval"
    check_elements(
        f"{field} (one pass's largest tensor)", [batch, largest], settings.max_tensor_elements
    )
    factor = 2 if backward else 1
    held = factor * (batch * per_sample + weights)
    limit = settings.max_total_elements
    if held > limit:
        fits = max(0, (limit // factor - weights) // per_sample)
        raise ProblemError(
            413,
            "too-many-elements",
            f"one of {CAPTUM_CLASSES[method]}'s passes would hold {held:,} elements ({batch} "
            f"samples x {per_sample:,} elements of input and module outputs"
            f"{', doubled for gradients' if backward else ''}, and the parameters), over the "
            f"limit of {limit:,} (LAYERSCOPE_MAX_TOTAL_ELEMENTS); run at most {fits} samples "
            "a pass (internal_batch_size, perturbations_per_eval, or a smaller batch)",
            title="Request too large",
            context={"elements": held, "limit": limit, "samples_per_pass": fits},
            limit="elements",
        )
    work = passes * per_sample
    if work > WORK_PASSES * limit:
        raise ProblemError(
            413,
            "too-much-work",
            f"{CAPTUM_CLASSES[method]} would run {passes:,} samples through the model, "
            f"{work:,} elements in all, over {WORK_PASSES} x LAYERSCOPE_MAX_TOTAL_ELEMENTS "
            f"({WORK_PASSES * limit:,}); use fewer n_steps, larger strides or windows, or a "
            "smaller input",
            title="Request too large",
            context={"elements": work, "limit": WORK_PASSES * limit, "samples": passes},
            limit="elements",
        )


def plan_attribution(
    request: AttributeRequest, runtime: Runtime, plan: InputPlan | None
) -> Planned:
    """Plan everything from the request (module docstring), refusing what does not fit."""
    settings = runtime.settings
    first = request.layers[0] if request.layers else None
    setup = setup_run(run_options(request), runtime, plan, first)
    if not setup.plan.dtype.is_floating_point:
        raise unprocessable(
            "integer-input",
            "body.input",
            "attributions are gradients or differences of a float input; this input is int64 "
            "(indices)",
            "attribute a model that takes a float input",
        )
    if not setup.plan.shape or setup.plan.shape[0] == 0:
        raise unprocessable(
            "empty-input",
            "body.input",
            f"the input {setup.plan.shape} has no samples",
            "give an input of at least one sample, batch dimension first",
        )
    source = _source(request, setup, settings)
    received = Received(setup.plan.shape, setup.plan.dtype, setup.config.training)
    tree = plan_tree(
        source.meta,
        received,
        settings.max_tensor_elements,
        field=source.request_field,
        smallest=source.smallest,
    )
    targets = check_targets(request, tree.output_shape)
    layer = None
    attribution_shape = list(setup.plan.shape)
    if request.layer is not None:
        layer = module_name(request.layer, request.layers is not None, "body.layer")
        row = find_call(tree, layer, 0, "body.layer")
        shape = row.input_shape if request.attribute_to_layer_input else row.output_shape
        attribution_shape = flat_shape(shape)
        if request.method == "layer_gradcam" and attribution_shape:
            attribution_shape = [attribution_shape[0], 1, *attribution_shape[2:]]
    arguments: dict[str, Any] = {}
    if targets is not None:
        arguments["target"] = request.target
    for name in OPTION_NAMES:
        if name in request.model_fields_set and getattr(request, name) is not None:
            value = getattr(request, name)
            arguments[name] = tuple(value) if isinstance(value, list) else value
    if request.method == "occlusion":
        arguments["sliding_window_shapes"] = _windows(request, tree.input_shape)[0]
    check_work(request, tree, settings)
    check_response_size(
        _estimate(request, setup, tree, attribution_shape, settings), settings.max_response_bytes
    )
    return Planned(setup, source, tree, arguments, layer, targets, attribution_shape)


def _heat_shape(input_shape: list[int]) -> tuple[int, int, int] | None:
    """(samples, height, width) of the heat map, or None (no two spatial dimensions)."""
    if len(input_shape) != 4:
        return None
    return input_shape[0], input_shape[2], input_shape[3]


def _estimate(
    request: AttributeRequest,
    setup: RunSetup,
    tree: TreePlan,
    attribution: list[int],
    settings: Settings,
) -> ResponseEstimate:
    """Bound the response's bytes: the tensors with values, the heat map (whose pixels are
    checked against LAYERSCOPE_MAX_RENDER_PIXELS here)."""
    estimate = ResponseEstimate(request.encoding)
    estimate.text(echo_bytes(setup.plan) + 1024)
    estimate.tensor(numel(setup.plan.shape), with_values=False)
    estimate.tensor(numel(tree.output_shape), with_values=True)
    estimate.tensor(numel(attribution), with_values=True)
    if request.method == "integrated_gradients":
        estimate.tensor(setup.plan.shape[0], with_values=True)
    heat = _heat_shape(setup.plan.shape)
    if heat is not None:
        width, height = heatmap_size(*heat, request.scale)
        check_pixels(
            width,
            height,
            settings.max_render_pixels,
            "body.scale",
            fix="lower `scale` or use a smaller input",
        )
        estimate.picture([height, width], rgb=True)
    return estimate


def captum_attribute(
    method: str,
    model: nn.Module,
    layer: nn.Module | None,
    x: torch.Tensor,
    arguments: dict[str, Any],
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Run Captum's class for `method` on `model` (and `layer`) with `arguments`: the
    attribution, and IntegratedGradients' convergence delta."""
    from captum import attr  # imported on first use: it takes matplotlib along

    if method == "integrated_gradients":
        result, delta = attr.IntegratedGradients(model).attribute(
            x, return_convergence_delta=True, **arguments
        )
        return result, delta
    if method in ("layer_gradcam", "layer_activation"):
        layered = getattr(attr, CAPTUM_CLASSES[method])(model, layer)
        return layered.attribute(x, **arguments), None
    return getattr(attr, CAPTUM_CLASSES[method])(model).attribute(x, **arguments), None


def heat_maps(
    request: AttributeRequest, x: torch.Tensor, attribution: torch.Tensor, settings: Settings
) -> str | None:
    """The heat map's data URI (see AttributeResponse.heatmap), or None without two spatial
    dimensions in the input or the attribution."""
    if x.dim() != 4 or attribution.dim() != 4:
        return None
    from captum.attr import LayerAttribution

    summed = attribution.detach().to(torch.float64).sum(dim=1, keepdim=True)
    if summed.shape[-2:] != x.shape[-2:]:
        summed = LayerAttribution.interpolate(summed, tuple(x.shape[-2:]), "bilinear")
    base = x.detach().to(torch.float64).mean(dim=1)
    flat = base.reshape(base.shape[0], -1)
    lo = flat.min(dim=1).values[:, None, None]
    hi = flat.max(dim=1).values[:, None, None]
    span = torch.where(hi > lo, hi - lo, torch.ones_like(hi))
    gray = torch.where(hi > lo, (base - lo) / span, torch.full_like(base, 0.5))
    png = heatmap_png(
        summed[:, 0],
        gray,
        request.colormap,
        request.alpha,
        request.scale,
        settings.max_render_pixels,
    )
    return data_uri(png)


def attribute(
    request: AttributeRequest,
    runtime: Runtime,
    plan: InputPlan | None = None,
    weights_file: bytes | None = None,
) -> dict[str, Any]:
    """Plan, build and run the attribution; return the response body (not yet encoded).

    `plan` replaces `request.input` (uploaded images); `weights_file` (an uploaded safetensors
    file) replaces `request.weights`."""
    settings = runtime.settings
    planned = plan_attribution(request, runtime, plan)
    setup, source = planned.setup, planned.source
    model, weight_seed = build_source(source, request.weights, weights_file, setup.dtypes, settings)
    config = setup.config
    device = config.device
    cuda = [device.index or 0] if device.type == "cuda" else []
    with out_of_memory_as_503(device), torch_refusals_as_422(config):
        model.to(device=device, dtype=config.dtype).train(config.training)
        x = setup.plan.make().to(device)
        if request.method not in ("occlusion", "layer_activation"):
            x = x.detach().requires_grad_(True)  # as Captum would set it (and warn)
        layer = model.get_submodule(planned.layer) if planned.layer is not None else None

        def forward() -> torch.Tensor:
            with torch.no_grad():
                out: torch.Tensor = model(x)
                return out

        def run_captum() -> tuple[torch.Tensor, torch.Tensor | None]:
            return captum_attribute(request.method, model, layer, x, planned.arguments)

        synchronize(device)
        start = time.perf_counter()
        output = seeded(config.forward_seed, forward, cuda) if config.training else forward()
        synchronize(device)
        forward_ms = (time.perf_counter() - start) * 1e3
        check_deadline("the attribution")
        start = time.perf_counter()
        with captum_refusals():
            if config.training:
                result, delta = seeded(config.forward_seed, run_captum, cuda)
            else:
                result, delta = run_captum()
        synchronize(device)
        attribute_ms = (time.perf_counter() - start) * 1e3
    encoding = request.encoding
    body: dict[str, Any] = {
        "method": request.method,
        "captum": CAPTUM_CLASSES[request.method],
        "arguments": _echo(planned),
        "device": str(device),
        "mode": request.mode,
        "dtype": request.dtype,
        "casts": setup.dtypes.casts,
        "seeds": {
            "input": setup.plan.seed,
            "weights": weight_seed,
            "forward": request.forward_seed,
        },
        "timing_ms": {"forward_ms": forward_ms, "attribute_ms": attribute_ms},
        "input": encode(x, with_values=False, encoding=encoding),
        "output": encode(output, with_values=True, encoding=encoding),
        "target": planned.targets,
        "attribution": encode(result, with_values=True, encoding=encoding),
        "convergence_delta": None
        if delta is None
        else encode(delta, with_values=True, encoding=encoding),
        "heatmap": heat_maps(request, x, result, settings),
    }
    if setup.plan.preprocessing is not None:
        body["preprocessing"] = setup.plan.preprocessing
    labels = label_report(setup.plan.labels, output)
    if labels is not None:
        body["labels"] = labels
    return body


def _echo(planned: Planned) -> dict[str, Any]:
    """The arguments as JSON: tuples as lists, and the layer's name."""
    echo = {k: list(v) if isinstance(v, tuple) else v for k, v in planned.arguments.items()}
    if planned.layer is not None:
        echo["layer"] = planned.layer
    return echo


@contextmanager
def captum_refusals() -> Iterator[None]:
    """Captum's own refusals (assertions about its arguments, the model's output) as 422s
    naming Captum's message."""
    try:
        yield
    except (AssertionError, TypeError) as exc:
        text = str(exc).strip()
        reason = text.splitlines()[0] if text else type(exc).__name__
        raise unprocessable(
            "attribution-failed",
            "body",
            f"Captum refused this attribution: {reason}",
            "check the method's options and the model's output against Captum's message",
            context={"captum": reason},
        ) from exc
