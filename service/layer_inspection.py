"""POST /v1/layers/inspect: plan, build, run and report one layer."""

from functools import partial
from typing import Any

from schemas.requests import LayerInspectRequest
from service.devices import resolve_device
from service.execution import run
from service.layers import build_layer, build_on_meta, describe_layer, layer_label
from service.module_cache import meta_module
from service.planning import check_totals, plan_grad_output, plan_input
from service.runtime import Runtime
from service.shapes import fit
from service.tensor_report import TensorReporter
from service.weights import materialize


def inspect_layer(request: LayerInspectRequest, runtime: Runtime) -> dict[str, Any]:
    """Run one layer as the request asks and return the response body (not yet encoded)."""
    settings = runtime.settings
    device = resolve_device(request.device, runtime.device)
    plan = plan_input(request.input, settings)
    key = request.layer.model_dump_json()
    meta = meta_module(key, partial(build_on_meta, request.layer))
    out_shape = fit(request.layer, meta, plan.shape, layer_label(request.layer), "body.layer")
    shapes = {"body.input": plan.shape, "output": out_shape}
    shapes |= {f"parameters.{n}": list(p.shape) for n, p in meta.named_parameters()}
    check_totals(shapes, backward=request.backward is not None, settings=settings)
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
    report = TensorReporter(request.include, request.encoding, request.backward is not None)
    return {
        "layer": describe_layer(request.layer, module),
        "device": str(device),
        "seeds": {"input": plan.seed, "weights": weight_seed},
        "timing_ms": {"forward_ms": done.forward_ms, "backward_ms": done.backward_ms},
        "input": report.leaf(done.input, "input"),
        "output": report.output(done.output),
        "parameters": report.parameters(module),
    }
