"""POST /v1/autograd: check a graph of named tensors, run it forward (and backward), report it.

The pipeline, each stage refusing what it can before the next allocates anything:

1. `checks.check_graph`: names, arity, options, forward references and cycles, from the spec alone
   (every problem found is listed in one 422).
2. `leaves.plan_leaves`: leaf sizes against the element limits; explicit values are decoded.
3. The whole graph runs on the meta device: shape errors (a matmul whose inner dimensions
   disagree, a view of the wrong size) are 422s naming the step, and every tensor's size is
   known and checked before real memory is used; then the backward pass is checked.
4. The graph runs for real on the device, then `of.backward()` `repeat` times.
5. Every named tensor is reported with its grad_fn, the named inputs of that grad_fn, its value
   and its `.grad`.

Ops come from a fixed table (`ops.OPS`); nothing from a request is ever evaluated.
"""

import time
from typing import Any

import torch

from schemas.autograd import AutogradBackward, AutogradRequest
from schemas.tensors import Encoding
from service.autograd.checks import check_graph
from service.autograd.leaves import LeafPlan, plan_leaves
from service.autograd.report import report
from service.autograd.steps import forward, plan_backward, run_backward
from service.devices import resolve_device, synchronize, use_torch_threads
from service.jobs import check_deadline
from service.planning.limits import check_totals
from service.planning.response_size import ResponseEstimate, check_response_size
from service.running.execution import out_of_memory_as_503
from service.runtime import Runtime


def run_autograd(request: AutogradRequest, runtime: Runtime) -> dict[str, Any]:
    """Check, plan and run the request's graph; return the response body (not yet encoded)."""
    settings = runtime.settings
    use_torch_threads(settings.torch_threads)
    device = resolve_device(request.device, runtime.device)
    check_graph(request)
    leaves = plan_leaves(request.tensors, settings)
    meta = forward(
        {
            name: torch.empty(plan.shape, device="meta").requires_grad_(plan.requires_grad)
            for name, plan in leaves.items()
        },
        request.ops,
    )
    shapes = {f"body.tensors.{name}": plan.shape for name, plan in leaves.items()}
    shapes |= {f"body.ops.{i}": list(meta[op.name].shape) for i, op in enumerate(request.ops)}
    check_totals(shapes, backward=request.backward is not None, settings=settings)
    grad_output = (
        None if request.backward is None else plan_backward(request.backward, meta, settings)
    )
    check_response_size(
        _estimate(meta, request.backward, request.encoding), settings.max_response_bytes
    )
    del meta
    with out_of_memory_as_503(device):
        return _run(request, leaves, grad_output, device)


def _estimate(
    meta: dict[str, torch.Tensor], spec: AutogradBackward | None, encoding: Encoding
) -> ResponseEstimate:
    """Bound the response's bytes: every tensor with its value, and the gradients a backward
    pass can leave (leaves that require grad, and the retained)."""
    estimate = ResponseEstimate(encoding)
    keep = set() if spec is None else set(spec.retain_grad)
    for name, t in meta.items():
        estimate.text(2 * len(name) + 64)  # its key, its op and its next_functions entries
        estimate.tensor(t.numel(), with_values=True)
        if spec is not None and t.requires_grad and (t.is_leaf or name in keep):
            estimate.tensor(t.numel(), with_values=True)
    return estimate


def _run(
    request: AutogradRequest,
    leaves: dict[str, LeafPlan],
    grad_output: torch.Tensor | None,
    device: torch.device,
) -> dict[str, Any]:
    """Make the leaves on `device`, run the steps, then the backward pass; report it all."""
    made = {
        name: plan.make(device).requires_grad_(plan.requires_grad) for name, plan in leaves.items()
    }
    synchronize(device)
    start = time.perf_counter()
    env = forward(made, request.ops)
    synchronize(device)
    forward_ms = (time.perf_counter() - start) * 1e3
    backward_ms = None
    if request.backward is not None:
        check_deadline("the backward pass")
        start = time.perf_counter()
        run_backward(request.backward, env, grad_output)
        synchronize(device)
        backward_ms = (time.perf_counter() - start) * 1e3
    return {
        "device": str(device),
        "timing_ms": {"forward_ms": forward_ms, "backward_ms": backward_ms},
        "tensors": report(env, request),
    }
