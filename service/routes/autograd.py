"""Autograd over HTTP: a small computation graph, every grad_fn and gradient."""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header
from starlette.responses import Response

from schemas.autograd import AutogradRequest, AutogradResponse
from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from service.autograd.run import run_autograd
from service.errors import PROBLEM_RESPONSES
from service.negotiation import encoding_for
from service.runtime import Runtime, TorchJob, get_runtime
from service.tensors.safetensors_body import SAFETENSORS_CONTENT, tensor_response

router = APIRouter(prefix="/v1", tags=["autograd"])


@router.post(
    "/autograd",
    summary="Build a small computation graph and see every grad_fn and gradient",
    response_model=AutogradResponse,
    responses=PROBLEM_RESPONSES | SAFETENSORS_CONTENT,
    dependencies=[TorchJob],
)
def autograd(
    request: Annotated[AutogradRequest, Body(openapi_examples=AUTOGRAD_EXAMPLES)],
    runtime: Annotated[Runtime, Depends(get_runtime)],
    accept: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Make the named leaf tensors (explicit values, a fill, or seeded `randn`; each
    `requires_grad=True` unless it says otherwise), run the `ops` in order (each step names its
    result and may use the leaves and earlier steps; numbers are Python scalars, so `a + 2` is
    `AddBackward0` as in PyTorch; `no_grad: true` runs a step under `torch.no_grad()`), then,
    when `backward` is given, call `of.backward(grad_output)` `repeat` times with
    `retain_graph=True`, so that `.grad` accumulates.

    Returns every named tensor in the order it was defined: shape, dtype, `requires_grad`,
    `is_leaf`, `grad_fn` (PyTorch's class name), `next_functions` (the names of the tensors
    grad_fn's inputs come from, null for numbers and tensors that do not require grad: the
    edges of the graph), its value and its `.grad` (null where PyTorch leaves it None, e.g. a
    non-leaf not named in `retain_grad`).

    A graph PyTorch would refuse is a 422 naming the step: an unknown name, a forward
    reference or a cycle, a duplicate name, the wrong number of arguments, a matmul whose inner
    dimensions disagree, a backward of a non-scalar without `grad_output` or of a tensor that
    does not require grad. Ops: add, sub, mul, div, pow, neg, exp, log, sqrt, abs, relu,
    sigmoid, tanh, matmul, sum, mean (optional `dim`, `keepdim`), view, reshape (`shape`),
    detach.
    """
    encoding = encoding_for(request.encoding, accept)
    request = request.model_copy(update={"encoding": encoding})
    return tensor_response(run_autograd(request, runtime), encoding)
