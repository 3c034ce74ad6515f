"""A forward pass on the meta device, module by module: the rows of a model's table.

As torchinfo does it: a pre-hook and a hook on every module collect one row per call, in call
order (a module called twice has two rows), with its qualified name, depth, input and output
shapes and parameter counts; containers that are never called themselves get a row where their
children first run. FlopCounterMode counts the FLOPs of the same pass; a module's are the count
between its pre-hook and its hook (its children's included). Every hook is removed in `finally`.
If the forward fails, the innermost module that was running is named.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.hooks import RemovableHandle

Shape = list[Any]
"""A tensor's shape, or a list of them for a module that returns several."""


@dataclass
class ModuleCall:
    """One call of one module: a row of the table (the row object; formatting is elsewhere)."""

    name: str
    """Qualified name, `layer1.0.conv1`; `""` for the model itself."""
    var_name: str
    """The attribute name in its parent, `conv1` (the model's class name for the model)."""
    depth: int
    module: nn.Module
    parent: "ModuleCall | None"
    call: int = 0
    """Which call of this module this row is (0 for the first)."""
    input_shape: Shape = field(default_factory=list)
    output_shape: Shape = field(default_factory=list)
    output_dtype: torch.dtype | None = None
    flops: int = 0
    executed: bool = False

    @property
    def is_leaf(self) -> bool:
        """A module without children."""
        return not any(True for _ in self.module.children())

    @property
    def class_name(self) -> str:
        """The module's class, `Conv2d`."""
        return type(self.module).__name__

    def one_line_repr(self) -> str:
        """`Conv2d(3, 64, kernel_size=(7, 7), ...)`; containers as their class and own
        arguments, `Sequential()`."""
        return f"{self.class_name}({self.module.extra_repr()})"

    def parameter_counts(self) -> tuple[int, int, int]:
        """(all, trainable, bytes) of the module's parameters, its children's included, each
        shared parameter counted once."""
        total = trainable = size = 0
        for p in self.module.parameters():
            total += p.numel()
            size += p.numel() * p.element_size()
            if p.requires_grad:
                trainable += p.numel()
        return total, trainable, size


def flat_shape(shape: Shape) -> list[int]:
    """A row's shape when it is one tensor's, else [] (a module that returns several)."""
    return shape if shape and isinstance(shape[0], int) else []


def shape_of(value: Any) -> Shape:
    """The shape of a tensor, or the shapes of the tensors in a tuple, list or dict."""
    if isinstance(value, torch.Tensor):
        return list(value.shape)
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        shapes = [shape_of(v) for v in value if isinstance(v, torch.Tensor | list | tuple | dict)]
        return shapes[0] if len(shapes) == 1 else shapes
    return []


def first_tensor(value: Any) -> torch.Tensor | None:
    """The first tensor in a module's output (itself, or the first of a tuple's)."""
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list | tuple):
        for item in value:
            found = first_tensor(item)
            if found is not None:
                return found
    return None


@dataclass
class Walk:
    """The rows of one forward pass, and where it stopped if it failed."""

    rows: list[ModuleCall]
    running: list[ModuleCall]
    """Modules whose forward had started but not finished (innermost last)."""
    output: Any = None


def named_tree(model: nn.Module) -> Iterator[tuple[str, str, int, nn.Module, str | None]]:
    """(qualified name, var name, depth, module, parent's name) of every module, parents first;
    a module reachable by two paths is listed once, under its first."""
    seen: set[int] = set()
    stack: list[tuple[str, str, int, nn.Module, str | None]] = [
        ("", type(model).__name__, 0, model, None)
    ]
    while stack:
        name, var_name, depth, module, parent = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        yield name, var_name, depth, module, parent
        children = [
            (f"{name}.{child_name}" if name else child_name, child_name, depth + 1, child, name)
            for child_name, child in module.named_children()
        ]
        stack.extend(reversed(children))


@contextmanager
def hooked(model: nn.Module, counter: FlopCounterMode | None) -> Iterator[Walk]:
    """Within the block, every call of every module of `model` adds a row to the walk."""
    walk = Walk([], [])
    handles: list[RemovableHandle] = []
    calls: dict[int, int] = {}
    parents: dict[str, ModuleCall] = {}
    flops_at_start: dict[int, int] = {}

    def total_flops() -> int:
        return int(counter.get_total_flops()) if counter is not None else 0

    def on_pre(name: str, var_name: str, depth: int, parent: str | None) -> Callable[..., None]:
        def pre_hook(module: nn.Module, args: Any) -> None:
            row = ModuleCall(
                name,
                var_name,
                depth,
                module,
                None if parent is None else parents.get(parent),
                call=calls.get(id(module), 0),
                input_shape=shape_of(args),
            )
            calls[id(module)] = row.call + 1
            parents[name] = row
            walk.rows.append(row)
            walk.running.append(row)
            flops_at_start[id(row)] = total_flops()

        return pre_hook

    def on_post(module: nn.Module, args: Any, output: Any) -> None:
        row = walk.running.pop()
        row.output_shape = shape_of(output)
        tensor = first_tensor(output)
        row.output_dtype = None if tensor is None else tensor.dtype
        row.flops = total_flops() - flops_at_start.pop(id(row))
        row.executed = True

    try:
        for name, var_name, depth, module, parent in named_tree(model):
            handles.append(module.register_forward_pre_hook(on_pre(name, var_name, depth, parent)))
            handles.append(module.register_forward_hook(on_post))
        yield walk
    finally:
        for handle in handles:
            handle.remove()


def walk_on_meta(model: nn.Module, x: torch.Tensor, *, count_flops: bool = True) -> Walk:
    """Run `model` (built on meta) on the meta tensor `x` under no_grad, collecting its rows.

    Raises what PyTorch raises; the walk passed to the exception handler is lost, so callers
    that need to name the failing module use `hooked` themselves.
    """
    counter = FlopCounterMode(display=False) if count_flops else None
    with hooked(model, counter) as walk, torch.no_grad():
        if counter is not None:
            with counter:
                walk.output = model(x)
        else:
            walk.output = model(x)
    return walk
