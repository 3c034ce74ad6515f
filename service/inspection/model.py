"""POST /v1/models/inspect (and its upload and render forms): plan a model on meta, build it,
run it with hooks on the selected modules only, report it module by module.

The model is a pipeline of layer specs or a torchvision architecture (service.inspection.
model_source); from there on both are a module tree: walked on meta for the table (service.
planning.tree_plan), checked against the element and response limits for the modules `select`
names, then built for real and run once.
"""

from dataclasses import dataclass
from typing import Any

import orjson
import torch
from torch import nn

from schemas.models import ModelInspectRequest, ModelRenderRequest
from service.errors import unprocessable
from service.images.rendering import default_colormap, default_images, render_png, view_tensor
from service.inspection.labels import label_report
from service.inspection.layer import weight_of
from service.inspection.model_source import (
    Source,
    architecture_source,
    build_source,
    pipeline_source,
)
from service.inspection.preparation import RunSetup, setup_run
from service.networks.module_tree import ModuleCall, first_shape
from service.planning.fit import Received
from service.planning.inputs import InputPlan, echo_bytes, plan_grad_output
from service.planning.limits import check_totals
from service.planning.plan_cache import PlanCache
from service.planning.response_size import (
    ResponseEstimate,
    add_images,
    add_run,
    check_response_size,
)
from service.planning.tree_plan import TreePlan, plan_tree
from service.running.capture import Capture, Captured, capture
from service.running.execution import Execution, run
from service.runtime import Runtime
from service.settings import Settings
from service.tensors.codec import encode
from service.tensors.report import TensorReporter


@dataclass
class ModelRun:
    """One model, run: the model, its tensors, the selected modules' outputs and gradients."""

    model: nn.Module
    done: Execution
    found: Capture
    setup: RunSetup
    source: Source
    tree: TreePlan
    selected: list[ModuleCall]
    weight_seed: int | None

    @property
    def plan(self) -> InputPlan:
        """How the input was made."""
        return self.setup.plan


def model_source(request: ModelInspectRequest, setup: RunSetup, settings: Settings) -> Source:
    """The request's model, a pipeline or an architecture, as a Source."""
    received = Received(setup.plan.shape, setup.plan.dtype, setup.config.training)
    if request.layers is not None:
        return pipeline_source(request.layers, received, setup.dtypes.compute, settings)
    assert request.model is not None
    return architecture_source(request.model, received, setup.dtypes.compute)


PLANS: PlanCache[tuple[Source, TreePlan]] = PlanCache()
"""Model plans by what they depend on (see service.planning.plan_cache)."""


def planned_model(
    request: ModelInspectRequest, setup: RunSetup, settings: Settings
) -> tuple[Source, TreePlan]:
    """The request's model and its module tree, planned on meta (or the plan of an earlier
    request with the same model, input shape and dtype, mode, dtypes and limits). Read only."""
    key = (
        request.model_dump_json(include={"layers", "model"}),
        tuple(setup.plan.shape),
        setup.plan.dtype,
        setup.config.training,
        setup.dtypes.compute,
        settings.max_tensor_elements,
        settings.max_layers,
    )

    def plan() -> tuple[Source, TreePlan]:
        source = model_source(request, setup, settings)
        received = Received(setup.plan.shape, setup.plan.dtype, setup.config.training)
        tree = plan_tree(
            source.meta,
            received,
            settings.max_tensor_elements,
            field=source.request_field,
            smallest=source.smallest,
        )
        tree.warnings.extend(source.warnings)
        return source, tree

    return PLANS.planned(key, plan)


def run_model(
    request: ModelInspectRequest,
    runtime: Runtime,
    plan: InputPlan | None = None,
    weights_file: bytes | None = None,
    keep_inputs: bool = False,
    module_field: str | None = None,
) -> ModelRun:
    """Plan, build and run the model as the request asks.

    Everything about sizes is checked on meta first (each module's output, the parameters and
    the selected tensors, the response); then the real model runs once, with hooks on the
    selected modules only (with `keep_inputs`, their inputs are kept too, for pictures),
    removed afterwards, also on error. `plan` replaces `request.input` when the input was made
    elsewhere (an uploaded image); `weights_file` (an uploaded safetensors file, checked
    against the meta model's state_dict before any tensor of it is made) replaces
    `request.weights`. With `module_field`, `select` holds exact module names the request
    gave in that field (render's `layer`), and an unknown one is named there.
    """
    settings = runtime.settings
    first = request.layers[0] if request.layers else None
    setup = setup_run(request, runtime, plan, first)
    source, tree = planned_model(request, setup, settings)
    if module_field is not None:
        _check_modules(tree, request.select or [], module_field)
    selected = tree.select(request.select, "body.select")
    check_totals(_named_shapes(tree, selected), backward=setup.backward, settings=settings)
    check_response_size(
        _estimate(request, setup, source, tree, selected), settings.max_response_bytes
    )
    grad_output = plan_grad_output(request.backward, tree.output_shape, settings, setup.dtypes)
    model, weight_seed = build_source(source, request.weights, weights_file, setup.dtypes, settings)
    names = {call.name for call in selected}
    with capture(model, names, names if keep_inputs else ()) as found:
        done = run(
            model,
            setup.plan.make(),
            setup.config,
            requires_grad=setup.plan.requires_grad,
            backward=request.backward,
            grad_output=grad_output,
        )
    return ModelRun(model, done, found, setup, source, tree, selected, weight_seed)


def _check_modules(tree: TreePlan, names: list[str], field: str) -> None:
    """Each of `names` is a module that runs in this forward pass; 422 at `field` naming the
    close ones (or saying that the module exists but does not run) otherwise."""
    ran = set(tree.names())
    for name in names:
        if name not in ran:
            raise tree.not_run(
                name, field, " (as the model is, in this mode), so there is nothing of it to draw"
            )


def _named_shapes(tree: TreePlan, selected: list[ModuleCall]) -> dict[str, list[int]]:
    """What a run holds at once, for the element limits: the input, every parameter and
    buffer, and the selected modules' outputs (copies of them are kept)."""
    shapes: dict[str, list[int]] = {"body.input": tree.input_shape}
    for name, t in tree.model.state_dict().items():
        shapes[f"parameters.{name}"] = list(t.shape)
    for call in selected:
        shape = first_shape(call.output_shape)
        if shape:
            shapes[f"{call.name or 'model'} (output, call {call.call})"] = shape
    return shapes


def _owned_state(
    model: nn.Module, selected: list[ModuleCall]
) -> tuple[list[list[int]], list[list[int]]]:
    """Shapes of the parameters and buffers the response reports (each once): the model's own
    (held by no child, as ViT's class_token) and the selected rows'."""
    seen: set[str] = set()
    parameters = [list(p.shape) for p in model.parameters(recurse=False)]
    buffers = [list(b.shape) for b in model.buffers(recurse=False)]
    for call in selected:
        for name, p in call.module.named_parameters(prefix=call.name):
            if name not in seen:
                seen.add(name)
                parameters.append(list(p.shape))
        for name, b in call.module.named_buffers(prefix=call.name):
            if name not in seen:
                seen.add(name)
                buffers.append(list(b.shape))
    return parameters, buffers


def _estimate(
    request: ModelInspectRequest,
    setup: RunSetup,
    source: Source,
    tree: TreePlan,
    selected: list[ModuleCall],
) -> ResponseEstimate:
    """Bound the response's bytes from the plan: the table as it will be written, the selected
    modules' tensors, the values `include` names, and their pictures."""
    plan = setup.plan
    estimate = ResponseEstimate(request.encoding)
    estimate.text(len(orjson.dumps(tree.table())) + 128 * len(setup.dtypes.casts))
    estimate.text(echo_bytes(plan))
    parameters, buffers = _owned_state(tree.model, selected)
    outputs = [first_shape(call.output_shape) for call in selected]
    add_run(
        estimate,
        include=request.include,
        backward=setup.backward,
        input_shape=plan.shape,
        input_grad=plan.requires_grad,
        outputs=outputs,
        parameters=parameters,
        buffers=buffers,
        item_size=setup.dtypes.compute.itemsize,
        input_item_size=plan.dtype.itemsize,
    )
    if "images" in request.include:
        add_images(
            estimate,
            input=plan.shape,
            output=tree.output_shape,
            weight=None,
            backward=setup.backward,
            input_grad=plan.requires_grad,
            spatial_dims=source.spatial_dims(""),
        )
        for call in selected:
            weight = getattr(call.module, "weight", None)
            add_images(
                estimate,
                input=call.input_shape
                if call.input_shape and isinstance(call.input_shape[0], int)
                else [],
                output=call.output_shape
                if call.output_shape and isinstance(call.output_shape[0], int)
                else [],
                weight=list(weight.shape) if isinstance(weight, torch.Tensor) else None,
                backward=setup.backward,
                input_grad=True,
                spatial_dims=source.spatial_dims(call.name),
            )
    return estimate


def inspect_model(
    request: ModelInspectRequest,
    runtime: Runtime,
    plan: InputPlan | None = None,
    weights_file: bytes | None = None,
) -> dict[str, Any]:
    """Run the model as the request asks and return the response body (not yet encoded)."""
    images = "images" in request.include
    done_run = run_model(request, runtime, plan, weights_file, keep_inputs=images)
    model, done, found = done_run.model, done_run.done, done_run.found
    backward = request.backward is not None
    report = TensorReporter(request.include, request.encoding, backward)
    table = done_run.tree.table(request.depth)
    chosen = {(call.name, call.call) for call in done_run.selected}
    rows = {(row["name"], row["call"]): row for row in table["layers"]}
    all_rows = done_run.tree.table(None)["layers"]
    for row in all_rows:
        key = (row["name"], row["call"])
        if key in chosen and key not in rows:
            rows[key] = row  # a selected module deeper than `depth` is shown all the same
    seen: set[str] = set()
    for key, row in rows.items():
        record = found.calls.get(key)
        row["selected"] = key in chosen
        row["output"] = None
        row["parameters"] = {}
        row["buffers"] = {}
        if key not in chosen:
            continue
        module = model.get_submodule(row["name"])
        if record is not None:
            row["output"] = _output(report, record)
        row["parameters"] = {
            name: report.leaf(p, "parameters")
            for name, p in module.named_parameters(prefix=row["name"])
            if name not in seen
        }
        row["buffers"] = {
            name: obj
            for name, obj in report.buffers(
                module, prefix=f"{row['name']}." if row["name"] else ""
            ).items()
            if name not in seen
        }
        seen.update(row["parameters"], row["buffers"])
        if images and record is not None:
            row["images"] = default_images(
                input=record.input if record.input is not None else record.output,
                output=record.output,
                weight=weight_of(module),
                backward=backward,
                input_grad=record.input_grad,
                max_pixels=runtime.settings.max_render_pixels,
                spatial_dims=done_run.source.spatial_dims(row["name"]),
            )
    table["layers"] = sorted(rows.values(), key=lambda row: row["index"])
    setup = done_run.setup
    body: dict[str, Any] = table | {
        "device": str(setup.config.device),
        "mode": request.mode,
        "dtype": request.dtype,
        "casts": setup.dtypes.casts,
        "seeds": {
            "input": done_run.plan.seed,
            "weights": done_run.weight_seed,
            "forward": request.forward_seed,
        },
        "timing_ms": {"forward_ms": done.forward_ms, "backward_ms": done.backward_ms},
        "input": report.leaf(done.input, "input"),
        "parameters": {
            name: report.leaf(p, "parameters") for name, p in model.named_parameters(recurse=False)
        },
        "buffers": {
            name: encode(b, with_values="buffers" in report.include, encoding=report.encoding)
            for name, b in model.named_buffers(recurse=False)
        },
    }
    if done_run.plan.preprocessing is not None:
        body["preprocessing"] = done_run.plan.preprocessing
    labels = label_report(done_run.plan.labels, done.output)
    if labels is not None:
        body["labels"] = labels
    if images:
        body["images"] = default_images(
            input=done.input,
            output=done.output,
            weight=None,
            backward=backward,
            input_grad=done.input.grad,
            max_pixels=runtime.settings.max_render_pixels,
            spatial_dims=done_run.source.spatial_dims(""),
        )
    return body


def _output(report: TensorReporter, record: Captured) -> dict[str, Any]:
    """A selected module's output as a response object, with the autograd facts of the value
    it returned (before any later in-place change)."""
    obj = report.leaf(record.output, "output", record.grad)
    obj["grad_fn"] = record.grad_fn
    obj["requires_grad"] = record.requires_grad
    return obj


def render_model(
    request: ModelRenderRequest,
    runtime: Runtime,
    plan: InputPlan | None = None,
    weights_file: bytes | None = None,
) -> bytes:
    """Run the model and draw the tensor `view` names, of the module `layer` names (a qualified
    name, or a pipeline's layer index), as a PNG grid.

    A module's input is what it received (a pipeline layer's: the previous layer's output); its
    `input_grad` is the gradient of the target with respect to that input.
    """
    name = _module_name(request)
    done_run = run_model(
        request.model_copy(update={"include": [], "select": [name]}),
        runtime,
        plan,
        weights_file,
        keep_inputs=True,
        module_field="body.layer",
    )
    record = done_run.found.calls[(name, 0)]  # it ran: _check_modules
    module = done_run.model.get_submodule(name)
    tensor = view_tensor(
        request.view,
        input=record.input if record.input is not None else record.output,
        output=record.output,
        weight=weight_of(module),
        backward=request.backward is not None,
        input_grad=record.input_grad,
    )
    return render_png(
        tensor,
        colormap=request.colormap or default_colormap(request.view),
        normalize=request.normalize,
        scale=request.scale,
        columns=request.columns,
        max_pixels=runtime.settings.max_render_pixels,
        spatial_dims=done_run.source.spatial_dims(name),
    )


def _module_name(request: ModelRenderRequest) -> str:
    """The qualified name `layer` stands for: a pipeline index is its layer's name, `"3"`."""
    if isinstance(request.layer, int):
        if request.layers is None:
            raise unprocessable(
                "no-such-layer",
                "body.layer",
                "a layer index names a pipeline's layer; this model is a torchvision architecture",
                "name the module by its qualified name, e.g. `layer1.0.conv1`",
            )
        count = len(request.layers)
        if request.layer >= count:
            raise unprocessable(
                "no-such-layer",
                "body.layer",
                f"layer {request.layer} does not exist: the pipeline has layers 0..{count - 1}",
                f"use a layer index from 0 to {count - 1}",
            )
        return str(request.layer)
    return request.layer
