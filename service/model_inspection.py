"""POST /v1/models/inspect: plan a pipeline on meta, build it, run it, report every layer."""

from functools import partial
from typing import Any

from schemas.models import ModelInspectRequest
from service.capture import capture
from service.devices import resolve_device
from service.execution import run
from service.planning import (
    check_response_size,
    check_totals,
    plan_grad_output,
    plan_input,
    values_returned,
)
from service.runtime import Runtime
from service.summary import build_model, plan_model
from service.tensor_report import TensorReporter
from service.weights import materialize


def inspect_model(request: ModelInspectRequest, runtime: Runtime) -> dict[str, Any]:
    """Run the pipeline as the request asks and return the response body (not yet encoded).

    Everything about sizes is checked on meta first (each layer's fit, each tensor's elements,
    all of them together); then the real `nn.Sequential` runs once, with hooks that only read
    each layer's output and its gradient, and are removed afterwards, also on error.
    """
    settings = runtime.settings
    device = resolve_device(request.device, runtime.device)
    plan = plan_input(request.input, settings)
    model_plan = plan_model(request.layers, plan.shape, settings.max_tensor_elements)
    backward = request.backward is not None
    shapes = model_plan.named_shapes()
    check_totals(shapes, backward=backward, settings=settings)
    check_response_size(
        values_returned(shapes, request.include, backward, plan.requires_grad),
        request.encoding,
        settings,
    )
    grad_output = plan_grad_output(request.backward, model_plan.output_shape, settings)
    model, weight_seed = materialize(
        partial(build_model, request.layers),
        model_plan.meta_model(),
        request.weights,
        "body.weights.state",
        settings.max_tensor_elements,
    )
    with capture(model) as found:
        done = run(
            model,
            plan.make(),
            device=device,
            requires_grad=plan.requires_grad,
            backward=request.backward,
            grad_output=grad_output,
        )
    report = TensorReporter(request.include, request.encoding, backward)
    table = model_plan.table()
    for row, layer, output, grad in zip(
        table["layers"], model.children(), found.outputs, found.grads, strict=True
    ):
        assert output is not None, "every layer of an nn.Sequential runs once"
        row["output"] = report.output(output, grad)
        row["parameters"] = report.parameters(layer, prefix=f"{row['index']}.")
    return table | {
        "device": str(device),
        "seeds": {"input": plan.seed, "weights": weight_seed},
        "timing_ms": {"forward_ms": done.forward_ms, "backward_ms": done.backward_ms},
        "input": report.leaf(done.input, "input"),
    }
