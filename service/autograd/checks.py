"""A graph checked from the spec alone: names, arity, options, forward references and cycles
(every problem found is listed in one 422)."""

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from schemas.autograd import AutogradBackward, AutogradRequest, OpSpec
from service.autograd.ops import OPS, op_options, step_label
from service.errors import ProblemError, field_error


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
        step = step_label(index, op)
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
    step = step_label(index, op)
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
    step = step_label(index, op)
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
    given = op_options(op)
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
