"""The table of any model, planned on meta: one row per module call, totals, and the modules a
request selects.

`plan_tree` runs the model (built on meta, in the run's dtype and mode) on a meta input with a
row-collecting hook on every module (service.networks.module_tree), so shapes, parameter counts
and FLOPs of every module are known before anything real exists. A forward that fails names the
innermost module that was running. `TreePlan.table(depth)` gives torchinfo's listing down to
`depth` (as torchinfo's `depth`: containers that never ran themselves included, second calls
marked recursive) and torchinfo's totals (`count_rows`, `totals_of`: leaves plus containers'
leftovers); `select` resolves names and glob patterns to the calls that ran.
"""

import difflib
import fnmatch
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from schemas.layer_specs import ALL_SPECS
from service.errors import ProblemError, field_error, unprocessable
from service.explain.field_trace import ModuleFields, row_field, spatial_dims_of, tracing
from service.networks.module_tree import ModuleCall, first_shape, hooked, listing, several_shapes
from service.planning.fit import Received
from service.planning.limits import check_elements, numel

MAX_FLOPS = (1 << 63) - 1


def _api_types() -> dict[str, str]:
    """torch.nn class name -> the API's name of it: `conv2d`, or an activation's `leaky_relu`."""
    types: dict[str, str] = {}
    for spec in ALL_SPECS:
        tag = spec.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
        if "name" in spec.model_fields:
            tag = spec.model_fields["name"].annotation.__args__[0]  # type: ignore[union-attr]
        types[spec.TORCH_CLASS] = str(tag)
    return types


API_TYPES = _api_types()
"""torch.nn class name -> the API's type name, for every layer type of the vocabulary."""


def type_of(module: nn.Module) -> str:
    """The API's type name of a module: its layer type where the vocabulary has it, else its
    class name lowercased (`bottleneck`), by the same naming rule."""
    name = type(module).__name__
    return API_TYPES.get(name, name.lower())


@dataclass(frozen=True)
class RowCounts:
    """The parameter counts of one row of the listing, as torchinfo counts them."""

    parameters: int
    """The module's parameters, its children's included (each shared one once)."""
    trainable: int
    size: int
    """Bytes of `parameters`."""
    leftover: int
    """torchinfo's `leftover_params`: those the rows below it (its descendants in the
    listing, recursive ones left out) do not count."""
    leftover_trainable: int
    leaf: bool
    """The module has no children."""


def count_rows(listed: Sequence[ModuleCall]) -> list[RowCounts]:
    """Every row's counts, with torchinfo's leftovers: a row's parameters less, for each
    non-recursive row below it up to the next row no deeper than it, that row's parameters
    (a leaf's) or its leftover (a container's)."""
    own: dict[int, tuple[int, int, int, bool]] = {}
    for call in listed:
        if id(call.module) not in own:
            own[id(call.module)] = (*call.parameter_counts(), call.is_leaf)
    n = len(listed)
    left: list[tuple[int, int]] = [(0, 0)] * n
    for i in reversed(range(n)):
        total, trainable, _, _ = own[id(listed[i].module)]
        j = i + 1
        while j < n and listed[j].depth > listed[i].depth:
            if not listed[j].recursive:
                below_total, below_trainable, _, leaf = own[id(listed[j].module)]
                below = (below_total, below_trainable) if leaf else left[j]
                total, trainable = total - below[0], trainable - below[1]
            j += 1
        left[i] = (total, trainable)
    return [
        RowCounts(*own[id(call.module)][:3], *left[i], own[id(call.module)][3])
        for i, call in enumerate(listed)
    ]


SPATIAL_DIMS: dict[str, int | None] = {spec.TORCH_CLASS: spec.SPATIAL_DIMS for spec in ALL_SPECS}
"""torch.nn class name -> how many spatial dimensions it slides over."""


def row_of(
    index: int, call: ModuleCall, counts: RowCounts, fields: ModuleFields | None = None
) -> dict[str, Any]:
    """One row of the listing as a row of the table (with its receptive field where `fields`
    has them, service.explain.field_trace)."""
    field, reason = row_field(fields, call.module, call.call)
    return {
        "index": index,
        "name": call.name,
        "depth": call.depth,
        "type": type_of(call.module),
        "class_name": call.class_name,
        "repr": call.one_line_repr(),
        "call": call.call,
        "executed": call.executed,
        "recursive": call.recursive,
        "input_shape": first_shape(call.input_shape),
        "output_shape": first_shape(call.output_shape),
        "output_shapes": several_shapes(call.output_shape),
        "parameter_count": counts.parameters,
        "trainable_parameter_count": counts.trainable,
        "parameter_bytes": counts.size,
        "output_bytes": call.output_bytes,
        "flops": call.flops,
        "receptive_field": field,
        "receptive_field_reason": reason,
    }


@dataclass(frozen=True)
class Totals:
    """torchinfo's totals (`ModelStatistics`) of a listing."""

    parameters: int
    """Leaves' parameters plus containers' leftovers (each clipped at 0), recursive rows left
    out: every parameter once, however often its module runs."""
    trainable: int
    parameter_bytes: int
    """Bytes of the leaves' parameters (recursive rows left out)."""
    pass_bytes: int
    """2 x the output bytes of every leaf row with parameters (recursive ones too)."""


def totals_of(listed: Sequence[ModuleCall], counted: Sequence[RowCounts]) -> Totals:
    """The totals as torchinfo's `ModelStatistics` adds them up."""
    parameters = trainable = parameter_bytes = pass_bytes = 0
    for call, counts in zip(listed, counted, strict=True):
        if counts.leaf:
            if counts.parameters > 0:
                pass_bytes += 2 * call.output_bytes
            if call.recursive:
                continue
            parameters += counts.parameters
            trainable += counts.trainable
            parameter_bytes += counts.size
        elif not call.recursive:
            parameters += max(counts.leftover, 0)
            trainable += max(counts.leftover_trainable, 0)
    return Totals(parameters, trainable, parameter_bytes, pass_bytes)


@dataclass
class TreePlan:
    """A model planned on meta: its rows (every module call), its output, its parameters."""

    model: nn.Module
    root: ModuleCall
    rows: list[ModuleCall]
    """Every call of every module but the model itself, in call order."""
    listed: list[ModuleCall]
    """torchinfo's listing: the model's row, then `rows` with the containers that never ran
    themselves inserted above their children (module_tree.listing)."""
    input_shape: list[int]
    input_dtype: torch.dtype
    output: torch.Tensor
    warnings: list[str]
    fields: ModuleFields | None = None
    """Every module call's receptive field (service.explain.field_trace)."""

    @property
    def output_shape(self) -> list[int]:
        """The model's output shape."""
        return list(self.output.shape)

    @cached_property
    def counted(self) -> list[RowCounts]:
        """The counts of every row of `listed`."""
        return count_rows(self.listed)

    @cached_property
    def totals(self) -> Totals:
        """torchinfo's totals."""
        return totals_of(self.listed, self.counted)

    def summary(self) -> dict[str, Any]:
        """The totals of the table: shapes, torchinfo's counts and bytes, FLOPs."""
        totals = self.totals
        input_bytes = numel(self.input_shape) * self.input_dtype.itemsize
        return {
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "parameter_count": totals.parameters,
            "trainable_parameter_count": totals.trainable,
            "parameter_bytes": totals.parameter_bytes,
            "flops": self.root.flops,
            "input_bytes": input_bytes,
            "forward_backward_bytes": totals.pass_bytes,
            "total_bytes": input_bytes + totals.pass_bytes + totals.parameter_bytes,
        }

    def table(self, depth: int | None = None) -> dict[str, Any]:
        """The `summary`, `layers` (the listing but the model's row, down to `depth`, as
        torchinfo shows it; all when None) and `warnings`."""
        shown = [
            row_of(i - 1, call, counts, self.fields)
            for i, (call, counts) in enumerate(zip(self.listed, self.counted, strict=True))
            if i > 0 and (depth is None or call.depth <= depth)
        ]
        return {"summary": self.summary(), "layers": shown, "warnings": self.warnings}

    def names(self) -> list[str]:
        """The qualified names of the modules that ran, in first-call order."""
        return list(dict.fromkeys(call.name for call in self.rows))

    def not_run(self, name: str, field: str, why: str = "") -> ProblemError:
        """The 422 for a module `name` that does not run in this forward pass: at `field`,
        saying whether the model has it at all, naming the close ones and those that run;
        `why` ends the sentence (", so there is nothing of it to draw")."""
        ran = self.names()
        exists = name in dict(self.model.named_modules())
        close = difflib.get_close_matches(name, ran, n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        return unprocessable(
            "module-not-run" if exists else "no-such-module",
            field,
            f"module {name!r} does not run in this forward pass{why}"
            if exists
            else f"no module of this model is named {name!r}",
            f"{hint}name a module that runs, by its qualified name as the table's `name` "
            "shows it (POST /v1/models/summary lists them)",
            context={"modules": ran[:200]},
        )

    def select(self, patterns: Sequence[str] | None, field: str) -> list[ModuleCall]:
        """The rows of the modules `patterns` name (names or glob patterns, `layer1.*.conv*`);
        default: the top-level children. 422 for a pattern that matches nothing, with the
        names there are."""
        if patterns is None:
            return [call for call in self.rows if call.depth == 1]
        names = self.names()
        chosen: set[str] = set()
        for i, pattern in enumerate(patterns):
            found = fnmatch.filter(names, pattern)
            if not found:
                close = [n for n in names if n.split(".")[-1] == pattern.split(".")[-1]][:5]
                hint = f"did you mean {', '.join(close)}? " if close else ""
                raise unprocessable(
                    "no-such-module",
                    f"{field}.{i}",
                    f"no module of this model is named {pattern!r}",
                    f"{hint}use qualified names as the table's `name` shows them, or glob "
                    "patterns (`layer1.*`, `*` for every module)",
                    context={"pattern": pattern, "modules": names[:200]},
                )
            chosen.update(found)
        return [call for call in self.rows if call.name in chosen]


def plan_tree(
    model: nn.Module,
    received: Received,
    max_elements: int,
    *,
    field: str,
    smallest: Callable[[], list[int] | None] | None = None,
) -> TreePlan:
    """Walk `model` (on meta, already in its dtype) on an input as `received` describes it.

    A forward that PyTorch refuses is a 422 naming the innermost module that was running and,
    where `smallest` can tell, the smallest input that works; a tensor past `max_elements` is
    a 413. Allocates nothing.
    """
    check_elements("body.input", received.shape, max_elements)
    model.train(received.training)
    x = torch.empty(received.shape, dtype=received.dtype, device="meta")
    counter = FlopCounterMode(display=False)
    spatial = spatial_dims_of(model, SPATIAL_DIMS)
    with hooked(model, counter) as walk, tracing(model, x, spatial) as fields:
        try:
            with torch.no_grad(), counter, fields.mode():
                output = model(x)
        except (RuntimeError, ValueError, IndexError, TypeError, AssertionError) as exc:
            running = walk.running[-1] if walk.running else None
            raise _misfit(exc, running, received, field, smallest) from exc
    if not isinstance(output, torch.Tensor):
        output = output[0] if isinstance(output, tuple | list) and output else output
    if not isinstance(output, torch.Tensor):
        raise unprocessable(
            "no-tensor-output",
            field,
            f"the model returns {type(output).__name__}, not a tensor",
            "pick a model whose forward returns a tensor",
        )
    root = next(call for call in walk.rows if call.depth == 0)
    rows = [call for call in walk.rows if call.depth > 0]
    for call in rows:
        shape = call.output_shape
        if shape and isinstance(shape[0], int):
            check_elements(f"{call.name} (output)", shape, max_elements)
    if root.flops > MAX_FLOPS:
        raise ProblemError(
            413,
            "too-many-flops",
            f"this model would take {root.flops:,} FLOPs, more than can be counted in 64 bits; "
            "use smaller shapes",
            title="Model too large",
            context={"flops": str(root.flops)},
        )
    listed = listing(walk.rows)
    return TreePlan(
        model, root, rows, listed, list(received.shape), received.dtype, output, [], fields
    )


def _misfit(
    exc: Exception,
    running: ModuleCall | None,
    received: Received,
    field: str,
    smallest: Callable[[], list[int] | None] | None,
) -> ProblemError:
    """A 422 for a forward PyTorch refused: which module, PyTorch's reason, the fix."""
    text = str(exc).strip()
    reason = text.splitlines()[0] if text else type(exc).__name__
    where = (
        f"module {running.name} ({running.class_name})"
        if running is not None and running.name
        else "the model"
    )
    got = running.input_shape if running is not None else received.shape
    size = smallest() if smallest is not None else None
    fix = (
        f"use an input of at least {size[0]} x {size[1]} (height x width)"
        if size is not None and size[-2:] > received.shape[-2:]
        else "change the input's shape (or the model's keywords) so they agree"
    )
    message = f"{where} cannot take its input {got} (PyTorch: {reason})"
    return ProblemError(
        422,
        "shape-mismatch",
        f"the input {received.shape} does not fit: {message}; {fix}",
        title="Input does not fit the model",
        errors=[field_error(field, message, fix)],
        context={
            "module": running.name if running is not None else None,
            "received": got,
            "input_shape": received.shape,
            "smallest_input": size,
            "torch": reason,
        },
    )
