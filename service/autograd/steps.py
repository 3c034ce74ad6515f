"""Running a graph's steps forward (on meta or for real) and its backward pass, with PyTorch's
refusals turned into 422s naming the step."""

from collections.abc import Sequence
from contextlib import nullcontext

import torch

from schemas.autograd import AutogradBackward, OpSpec
from service.autograd.ops import OPS, Arg, op_options, step_label
from service.errors import ProblemError, unprocessable
from service.settings import Settings
from service.tensors.codec import decode


def forward(leaves: dict[str, torch.Tensor], ops: Sequence[OpSpec]) -> dict[str, torch.Tensor]:
    """Run the steps in order on `leaves`; return every named tensor, leaves first.

    A step that PyTorch refuses (RuntimeError, IndexError, ValueError, OverflowError) is a 422
    naming it.
    """
    env = dict(leaves)
    for index, op in enumerate(ops):
        args: list[Arg] = [env[a] if isinstance(a, str) else a for a in op.args]
        try:
            with torch.no_grad() if op.no_grad else nullcontext():
                env[op.name] = OPS[op.op].fn(*args, **op_options(op))
        except (RuntimeError, IndexError, ValueError, OverflowError) as exc:
            raise _step_failed(index, op, args, exc) from exc
    return env


def _shape(arg: Arg) -> list[int] | None:
    return list(arg.shape) if isinstance(arg, torch.Tensor) else None


def _reason(exc: Exception) -> str:
    """PyTorch's message: its first line, without a closing period."""
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _step_failed(index: int, op: OpSpec, args: list[Arg], exc: Exception) -> ProblemError:
    reason = _reason(exc)
    shapes = [_shape(a) for a in args]
    fix = _fix(op, shapes)
    message = f"{step_label(index, op)} failed: {reason}"
    return unprocessable(
        "shape-mismatch" if op.op == "matmul" else "op-failed",
        f"body.ops.{index}",
        message,
        fix,
        context={"step": index, "name": op.name, "op": op.op, "shapes": shapes, "torch": reason},
    )


def _fix(op: OpSpec, shapes: list[list[int] | None]) -> str:
    names = [a if isinstance(a, str) else repr(a) for a in op.args]
    if op.op == "matmul" and len(shapes) == 2 and shapes[0] is not None and shapes[1] is not None:
        a, b = shapes
        if not a or not b:
            return (
                f"matmul needs tensors of at least 1 dimension, got {a} @ {b}; view a scalar as [1]"
            )
        inner_b, which = (b[-2], "second-to-last") if len(b) >= 2 else (b[0], "only")
        if a[-1] != inner_b:
            return (
                f"inner dimensions must agree: {a} @ {b}; the last dimension of `{names[0]}` "
                f"({a[-1]}) must equal the {which} dimension of `{names[1]}` ({inner_b})"
            )
        return f"the batch dimensions (all but the last two) of {a} @ {b} must broadcast"
    if op.op in ("view", "reshape"):
        return (
            f"the new shape must hold the same number of elements as {shapes[0]}; "
            "use -1 for one dimension to have it inferred"
        )
    if op.op in ("sum", "mean"):
        return f"use dims that exist in {shapes[0]} (from -rank to rank-1), each once"
    if op.op in ("add", "sub", "mul", "div", "pow"):
        return (
            f"shapes {shapes[0]} and {shapes[1]} must broadcast: sizes equal or 1, from the right"
        )
    return "change the arguments of this step"


def plan_backward(
    spec: AutogradBackward, env: dict[str, torch.Tensor], settings: Settings
) -> torch.Tensor | None:
    """Check the backward pass against the graph (run on meta); return grad_output if given."""
    target = env[spec.of]
    if not target.requires_grad:
        raise unprocessable(
            "nothing-to-differentiate",
            "body.backward.of",
            f"backward: `{spec.of}` does not require grad (its grad_fn is None), so there is "
            "nothing to differentiate",
            "differentiate a tensor that depends on a leaf with requires_grad true through "
            "steps without no_grad or detach",
            context={"of": spec.of},
        )
    for j, name in enumerate(spec.retain_grad):
        if not env[name].requires_grad:
            raise unprocessable(
                "cannot-retain-grad",
                f"body.backward.retain_grad.{j}",
                f"backward: `{name}` does not require grad, so it has no gradient to retain "
                "(PyTorch: can't retain_grad on Tensor that has requires_grad=False)",
                f"remove `{name}` from retain_grad",
                context={"name": name},
            )
    shape = list(target.shape)
    if spec.grad_output is None:
        if target.numel() != 1:
            raise unprocessable(
                "not-scalar",
                "body.backward.grad_output",
                f"backward: `{spec.of}` has shape {shape}, not a scalar, and no grad_output was "
                "given (PyTorch: grad can be implicitly created only for scalar outputs)",
                f"send grad_output of shape {shape} (all ones gives the gradient of "
                f"`{spec.of}.sum()`), or differentiate a sum or mean of `{spec.of}`",
                context={"of": spec.of, "shape": shape},
            )
        return None
    field = "body.backward.grad_output"
    grad = decode(spec.grad_output, field, settings.max_tensor_elements)
    if list(grad.shape) == shape:
        return grad
    if grad.numel() == 1 and target.numel() == 1:
        return grad.reshape(shape)
    want = "one value, e.g. [1.0]" if target.numel() == 1 else f"shape {shape}"
    raise unprocessable(
        "grad-output-shape",
        field,
        f"backward: grad_output has shape {list(grad.shape)} but `{spec.of}` has shape {shape}",
        f"send grad_output with {want}",
        context={"expected": shape, "received": list(grad.shape)},
    )


def run_backward(
    spec: AutogradBackward, env: dict[str, torch.Tensor], grad_output: torch.Tensor | None
) -> None:
    """Retain the asked-for grads, then `of.backward(grad_output, retain_graph=True)` `repeat`
    times, so that `.grad` accumulates."""
    for name in spec.retain_grad:
        env[name].retain_grad()
    target = env[spec.of]
    gradient = None if grad_output is None else grad_output.to(target.device)
    try:
        for _ in range(spec.repeat):
            torch.autograd.backward(target, gradient, retain_graph=True)
    except RuntimeError as exc:
        raise unprocessable(
            "backward-failed",
            "body.backward",
            f"backward of `{spec.of}` failed: {_reason(exc)}",
            "check the graph and grad_output",
        ) from exc
