"""POST /v1/autograd: check a graph of named tensors, run it forward (and backward), report it.

The pipeline, each stage refusing what it can before the next allocates anything:

1. `check_graph`: names, arity, options, forward references and cycles, from the spec alone
   (every problem found is listed in one 422).
2. `plan_leaves`: leaf sizes against the element limits; explicit values are decoded.
3. The whole graph runs on the meta device: shape errors (a matmul whose inner dimensions
   disagree, a view of the wrong size) are 422s naming the step, and every tensor's size is
   known and checked before real memory is used; then the backward pass is checked.
4. The graph runs for real on the device, then `of.backward()` `repeat` times.
5. Every named tensor is reported with its grad_fn, the named inputs of that grad_fn, its value
   and its `.grad`.

Ops come from a fixed table (`OPS`); nothing from a request is ever evaluated.
"""

import difflib
import operator
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch

from schemas.autograd import (
    AutogradBackward,
    AutogradRequest,
    FillLeaf,
    LeafSpec,
    OpSpec,
    RandomLeaf,
)
from service.codec import check_elements, decode, encode, numel
from service.devices import resolve_device, synchronize
from service.errors import ProblemError, field_error, unprocessable
from service.execution import out_of_memory_as_503
from service.jobs import check_deadline
from service.planning import check_response_size, check_totals
from service.runtime import Runtime
from service.seeding import seeded_randn
from service.settings import Settings
from service.tensor_report import grad_fn_name

Arg = torch.Tensor | int | float


@dataclass(frozen=True)
class OpDef:
    """One entry of the op table: what to call, with how many arguments, and which options."""

    fn: Callable[..., torch.Tensor]
    arity: int
    numbers: bool
    """Whether numbers may stand for arguments (at least one argument is always a tensor)."""
    options: frozenset[str] = frozenset()
    required: frozenset[str] = frozenset()
    python: str = ""
    """How the step reads in PyTorch, for messages, e.g. `a + b`."""


def _reduce(
    method: str, t: torch.Tensor, dim: int | list[int] | None = None, keepdim: bool | None = None
) -> torch.Tensor:
    if dim is None:
        result: torch.Tensor = getattr(t, method)()
    else:
        result = getattr(t, method)(dim=dim, keepdim=bool(keepdim))
    return result


def _view(t: torch.Tensor, shape: list[int]) -> torch.Tensor:
    return t.view(shape)


def _reshape(t: torch.Tensor, shape: list[int]) -> torch.Tensor:
    return t.reshape(shape)


def _detach(t: torch.Tensor) -> torch.Tensor:
    return t.detach()


_REDUCE = frozenset({"dim", "keepdim"})
_SHAPE = frozenset({"shape"})

OPS: dict[str, OpDef] = {
    "add": OpDef(operator.add, 2, True, python="a + b"),
    "sub": OpDef(operator.sub, 2, True, python="a - b"),
    "mul": OpDef(operator.mul, 2, True, python="a * b"),
    "div": OpDef(operator.truediv, 2, True, python="a / b"),
    "pow": OpDef(operator.pow, 2, True, python="a ** b"),
    "neg": OpDef(operator.neg, 1, False, python="-a"),
    "exp": OpDef(torch.exp, 1, False, python="torch.exp(a)"),
    "log": OpDef(torch.log, 1, False, python="torch.log(a)"),
    "sqrt": OpDef(torch.sqrt, 1, False, python="torch.sqrt(a)"),
    "abs": OpDef(torch.abs, 1, False, python="torch.abs(a)"),
    "relu": OpDef(torch.relu, 1, False, python="torch.relu(a)"),
    "sigmoid": OpDef(torch.sigmoid, 1, False, python="torch.sigmoid(a)"),
    "tanh": OpDef(torch.tanh, 1, False, python="torch.tanh(a)"),
    "matmul": OpDef(operator.matmul, 2, False, python="a @ b"),
    "sum": OpDef(partial(_reduce, "sum"), 1, False, _REDUCE, python="a.sum(dim, keepdim)"),
    "mean": OpDef(partial(_reduce, "mean"), 1, False, _REDUCE, python="a.mean(dim, keepdim)"),
    "view": OpDef(_view, 1, False, _SHAPE, _SHAPE, python="a.view(shape)"),
    "reshape": OpDef(_reshape, 1, False, _SHAPE, _SHAPE, python="a.reshape(shape)"),
    "detach": OpDef(_detach, 1, False, python="a.detach()"),
}
"""The op table: the only things a step can do."""

_OPTIONS = ("dim", "keepdim", "shape")


def _step(index: int, op: OpSpec) -> str:
    return f"step `{op.name}` (ops[{index}], {op.op})"


def _options(op: OpSpec) -> dict[str, Any]:
    return {key: getattr(op, key) for key in _OPTIONS if getattr(op, key) is not None}


# 1. The graph, from the spec alone ------------------------------------------------------------


@dataclass
class _Finding:
    slug: str
    field: str
    message: str
    fix: str
    context: dict[str, Any]


def check_graph(request: AutogradRequest) -> None:
    """Refuse (422, every problem listed) a graph with unknown or duplicate names, forward
    references, cycles, wrong arity, numbers where tensors are needed, or misplaced options."""
    findings = list(_graph_findings(request))
    if not findings:
        return
    first = findings[0]
    more = f" (and {len(findings) - 1} more)" if len(findings) > 1 else ""
    raise ProblemError(
        422,
        first.slug,
        f"{first.message}; {first.fix}{more}",
        title="Invalid graph",
        errors=[field_error(f.field, f.message, f.fix) for f in findings],
        context=first.context,
    )


def _graph_findings(request: AutogradRequest) -> Iterator[_Finding]:
    defined: set[str] = set(request.tensors)
    first_index: dict[str, int] = {}
    for index, op in enumerate(request.ops):
        first_index.setdefault(op.name, index)
    depends = {op.name: [a for a in op.args if isinstance(a, str)] for op in reversed(request.ops)}
    for index, op in enumerate(request.ops):
        at = f"body.ops.{index}"
        step = _step(index, op)
        context = {"step": index, "name": op.name, "op": op.op}
        yield from _arg_findings(index, op, defined, first_index, depends, context)
        yield from _option_findings(op, at, step, context)
        if op.name in defined:
            where = (
                "a leaf in `tensors`"
                if op.name in request.tensors
                else f"the result of ops[{first_index[op.name]}]"
            )
            yield _Finding(
                "duplicate-name",
                f"{at}.name",
                f"{step}: the name `{op.name}` is already {where}; every name is defined once",
                f"give this step a new name, e.g. `{op.name}_{index}`",
                context,
            )
        defined.add(op.name)
    if request.backward is not None:
        yield from _backward_findings(request.backward, defined)


def _arg_findings(
    index: int,
    op: OpSpec,
    defined: set[str],
    first_index: dict[str, int],
    depends: dict[str, list[str]],
    context: dict[str, Any],
) -> Iterator[_Finding]:
    spec = OPS[op.op]
    at = f"body.ops.{index}"
    step = _step(index, op)
    if len(op.args) != spec.arity:
        plural = "s" if spec.arity > 1 else ""
        kinds = f"tensor name{plural} or number{plural}" if spec.numbers else f"tensor name{plural}"
        yield _Finding(
            "wrong-arity",
            f"{at}.args",
            f"{step}: {op.op} takes {spec.arity} argument{'s' if spec.arity > 1 else ''} "
            f"({spec.python}), got {len(op.args)}",
            f"give exactly {spec.arity} {kinds} in args",
            context | {"expected": spec.arity, "received": len(op.args)},
        )
    names = [a for a in op.args if isinstance(a, str)]
    if not names and spec.numbers:
        yield _Finding(
            "no-tensor-argument",
            f"{at}.args",
            f"{step}: every argument is a number; {op.op} needs at least one tensor",
            "name an earlier tensor in args (make a constant a leaf with requires_grad false)",
            context,
        )
    for j, arg in enumerate(op.args):
        field = f"{at}.args.{j}"
        if not isinstance(arg, str):
            if not spec.numbers:
                yield _Finding(
                    "tensor-argument-required",
                    field,
                    f"{step}: args[{j}] is the number {arg}, but {op.op} takes tensors only",
                    "name an earlier tensor here (make a constant a leaf with requires_grad false)",
                    context,
                )
            continue
        if arg in defined:
            continue
        yield _name_finding(index, op, j, arg, first_index, depends, defined, context)


def _name_finding(
    index: int,
    op: OpSpec,
    j: int,
    arg: str,
    first_index: dict[str, int],
    depends: dict[str, list[str]],
    defined: set[str],
    context: dict[str, Any],
) -> _Finding:
    field = f"body.ops.{index}.args.{j}"
    step = _step(index, op)
    if arg == op.name and first_index[arg] == index:
        return _Finding(
            "cycle",
            field,
            f"{step}: args[{j}] is `{arg}`, the step's own result: a cycle ({arg} -> {arg})",
            "a step can use only the leaves and earlier steps; name one of those",
            context | {"cycle": [arg, arg]},
        )
    if arg in first_index:
        later = first_index[arg]
        path = _path(depends, arg, op.name)
        if path is not None:
            cycle = [op.name, *path]
            return _Finding(
                "cycle",
                field,
                f"{step}: args[{j}] is `{arg}`, defined by ops[{later}], which itself depends "
                f"on `{op.name}`: a cycle ({' -> '.join(cycle)})",
                "a graph runs in order and cannot loop; make one of these steps use an "
                "earlier tensor instead",
                context | {"cycle": cycle},
            )
        return _Finding(
            "forward-reference",
            field,
            f"{step}: args[{j}] is `{arg}`, which is defined later, by ops[{later}]; "
            "steps run in order",
            f"move the step that defines `{arg}` (ops[{later}]) before ops[{index}]",
            context | {"defined_at": later},
        )
    known = sorted(defined)
    return _Finding(
        "unknown-name",
        field,
        f"{step}: args[{j}] is `{arg}`, which is neither a leaf nor an earlier step",
        _name_fix(arg, known),
        context | {"known": known},
    )


def _name_fix(name: str, known: list[str]) -> str:
    """The fix for an unknown name: the closest known one, then all of them."""
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean `{close[0]}`? " if close else ""
    return f"{hint}use one of: {', '.join(known)}"


def _path(depends: dict[str, list[str]], start: str, goal: str) -> list[str] | None:
    """Return a dependency path start -> ... -> goal, or None (iterative depth-first search)."""
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        name, path = stack.pop()
        if name == goal:
            return path
        if name in seen:
            continue
        seen.add(name)
        stack.extend((dep, [*path, dep]) for dep in depends.get(name, ()))
    return None


def _option_findings(op: OpSpec, at: str, step: str, context: dict[str, Any]) -> Iterator[_Finding]:
    spec = OPS[op.op]
    given = _options(op)
    for key in given:
        if key not in spec.options:
            takers = sorted(name for name, d in OPS.items() if key in d.options)
            yield _Finding(
                "option-not-allowed",
                f"{at}.{key}",
                f"{step}: {op.op} takes no `{key}`; only {', '.join(takers)} do",
                f"remove `{key}`",
                context,
            )
    for key in sorted(spec.required - set(given)):
        yield _Finding(
            "missing-option",
            f"{at}.{key}",
            f"{step}: {op.op} needs `{key}` ({spec.python})",
            f"add `{key}`, e.g. [-1] to flatten",
            context,
        )
    if op.keepdim is not None and op.dim is None and "keepdim" in spec.options:
        yield _Finding(
            "option-not-allowed",
            f"{at}.keepdim",
            f"{step}: `keepdim` applies only with `dim`",
            "add `dim`, or remove `keepdim`",
            context,
        )


def _backward_findings(backward: AutogradBackward, defined: set[str]) -> Iterator[_Finding]:
    known = sorted(defined)
    named = [("body.backward.of", backward.of)]
    named += [(f"body.backward.retain_grad.{j}", n) for j, n in enumerate(backward.retain_grad)]
    for field, name in named:
        if name not in defined:
            yield _Finding(
                "unknown-name",
                field,
                f"backward: `{name}` is neither a leaf nor a step",
                _name_fix(name, known),
                {"known": known},
            )


# 2. Leaves ---------------------------------------------------------------------------------


@dataclass
class LeafPlan:
    """A leaf's shape, and how to make it on a device (random values are not drawn yet)."""

    shape: list[int]
    requires_grad: bool
    make: Callable[[torch.device], torch.Tensor]


def _decoded(values: torch.Tensor, device: torch.device) -> torch.Tensor:
    return values.to(device)


def _filled(shape: list[int], fill: float, device: torch.device) -> torch.Tensor:
    return torch.full(shape, fill, device=device)


def _random(shape: list[int], seed: int, device: torch.device) -> torch.Tensor:
    return seeded_randn(shape, seed).to(device)


def plan_leaves(specs: dict[str, LeafSpec], settings: Settings) -> dict[str, LeafPlan]:
    """Check every leaf's size (413) and decode explicit values (422 naming the leaf)."""
    plans: dict[str, LeafPlan] = {}
    limit = settings.max_tensor_elements
    for name, spec in specs.items():
        field = f"body.tensors.{name}"
        if isinstance(spec, FillLeaf | RandomLeaf):
            check_elements(field, spec.shape, limit)
            shape = list(spec.shape)
            if isinstance(spec, FillLeaf):
                make = partial(_filled, shape, spec.fill)
            else:
                make = partial(_random, shape, spec.seed)
        else:
            values = decode(spec.tensor, f"{field}.tensor", limit)
            shape, make = list(values.shape), partial(_decoded, values)
        plans[name] = LeafPlan(shape, spec.requires_grad, make)
    return plans


# 3./4. Running the graph ---------------------------------------------------------------------


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
                env[op.name] = OPS[op.op].fn(*args, **_options(op))
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
    message = f"{_step(index, op)} failed: {reason}"
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


# 5. The report -------------------------------------------------------------------------------


class _GraphNames:
    """Maps autograd nodes back to the named tensors they belong to."""

    def __init__(self, env: dict[str, torch.Tensor]) -> None:
        # Strong references (the tensors in env, and the nodes here) keep every id valid.
        self.nodes: dict[int, tuple[Any, str]] = {}
        self.leaves: dict[int, str] = {}
        for name, tensor in env.items():
            if tensor.grad_fn is not None:
                self.nodes.setdefault(id(tensor.grad_fn), (tensor.grad_fn, name))
            elif tensor.requires_grad:
                self.leaves.setdefault(id(tensor), name)

    def inputs(self, node: Any) -> list[str | None]:
        """Names of the tensors `node`'s inputs come from, in next_functions order."""
        names: list[str | None] = []
        for child, _ in node.next_functions:
            names.extend(self._source(child))
        return names

    def _source(self, node: Any) -> list[str | None]:
        if node is None:
            return [None]
        if id(node) in self.nodes:
            return [self.nodes[id(node)][1]]
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor):
            return [self.leaves.get(id(variable))]
        # A node PyTorch made inside one op (e.g. matmul's mm and views): follow it through.
        through: list[str | None] = [name for name in self.inputs(node) if name is not None]
        return through or [None]


def _grad(tensor: torch.Tensor) -> torch.Tensor | None:
    # Reading .grad of a non-leaf that does not retain it warns; PyTorch's answer is None.
    if tensor.is_leaf or tensor.retains_grad:
        return tensor.grad
    return None


def report(env: dict[str, torch.Tensor], request: AutogradRequest) -> dict[str, dict[str, Any]]:
    """Every named tensor, in definition order, as the response's `tensors` map."""
    graph = _GraphNames(env)
    made_by = {op.name: op.op for op in request.ops}
    encoding = request.encoding
    out: dict[str, dict[str, Any]] = {}
    for name, tensor in env.items():
        grad = _grad(tensor)
        out[name] = {
            "op": made_by.get(name),
            "shape": list(tensor.shape),
            "dtype": str(tensor.dtype).removeprefix("torch."),
            "requires_grad": tensor.requires_grad,
            "is_leaf": tensor.is_leaf,
            "grad_fn": grad_fn_name(tensor),
            "next_functions": [] if tensor.grad_fn is None else graph.inputs(tensor.grad_fn),
            "value": encode(tensor, with_values=True, encoding=encoding),
            "grad": None if grad is None else encode(grad, with_values=True, encoding=encoding),
        }
    return out


def run_autograd(request: AutogradRequest, runtime: Runtime) -> dict[str, Any]:
    """Check, plan and run the request's graph; return the response body (not yet encoded)."""
    settings = runtime.settings
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
    check_response_size(_values_returned(meta, request.backward), request.encoding, settings)
    del meta
    with out_of_memory_as_503(device):
        return _run(request, leaves, grad_output, device)


def _values_returned(meta: dict[str, torch.Tensor], spec: AutogradBackward | None) -> list[int]:
    """Element counts of the values a response carries: every tensor, and the gradients a
    backward pass can leave (leaves that require grad, and the retained)."""
    counts = [numel(t.shape) for t in meta.values()]
    if spec is not None:
        keep = set(spec.retain_grad)
        counts += [
            numel(t.shape)
            for name, t in meta.items()
            if t.requires_grad and (t.is_leaf or name in keep)
        ]
    return counts


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
