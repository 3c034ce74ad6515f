"""A forward pass on the meta device, module by module: the rows of a model's table, as
torchinfo lists them.

As torchinfo's `summary` does it (torchinfo 1.8: `apply_hooks`, `forward_pass`,
`add_missing_container_layers`, `set_children_layers`):

- Every module gets a place in the tree (qualified name, var name, depth, parent) by a walk over
  `_modules` from the model down; a module reachable by two paths takes the last one, as
  torchinfo's (and FlopCounterMode's) naming does.
- A pre-hook and a hook on every module add one row per call, in call order: a module called
  twice has two rows, the second `recursive` (torchinfo's "(recursive)": its parameters are not
  counted again).
- After the pass, a container that never ran itself (a `ModuleList`, a `Sequential` whose
  children are called one by one) gets a row (not `executed`) above its children wherever the
  listing enters it, exactly where torchinfo inserts one; a container listed a second time is
  recursive, and since torchinfo inserts the same object every time, so is its first listing.
- `depth_index` numbers the rows of each depth through the whole listing (torchinfo's
  `Conv2d: 3-14`).

FlopCounterMode counts the FLOPs of the same pass; a row's are the count between its pre-hook
and its hook (its children's included). Every hook is removed in `finally`. If the forward fails,
the innermost module that was running is named.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from math import prod
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from torch.utils.hooks import RemovableHandle

Shape = list[Any]
"""A tensor's shape, or a list of them for a module that returns several."""


@dataclass(eq=False)
class Node:
    """A module's place in the tree: torchinfo's fallback `LayerInfo` for it."""

    name: str
    """Qualified name, `layer1.0.conv1`; `""` for the model itself."""
    var_name: str
    """The attribute name in its parent, `conv1` (the model's class name for the model)."""
    depth: int
    module: nn.Module
    parent: "Node | None"
    listed: "ModuleCall | None" = None
    """Its row as a container that never ran itself, once the listing needs one."""

    def container_row(self) -> "ModuleCall":
        """The row that stands for this module where it did not run itself (one object, as
        torchinfo inserts one object however often it lists the container)."""
        if self.listed is None:
            self.listed = ModuleCall(self)
        return self.listed


@dataclass(eq=False)
class ModuleCall:
    """One call of one module, or a container listed above its children: a row of the table
    (the row object; counting and formatting are elsewhere)."""

    node: Node
    call: int = 0
    """Which call of this module this row is (0 for the first)."""
    input_shape: Shape = field(default_factory=list)
    output_shape: Shape = field(default_factory=list)
    input_size: list[int] = field(default_factory=list)
    """torchinfo's input size: the first argument's shape."""
    output_size: list[int] = field(default_factory=list)
    """torchinfo's output size: the output's shape, or its first tensor's."""
    output_bytes: int = 0
    """torchinfo's output bytes: the elements of `output_size` times their element size."""
    flops: int = 0
    executed: bool = False
    """Whether the module ran (False: a container listed above children that ran)."""
    recursive: bool = False
    """The module already has a row above this one (torchinfo's "(recursive)")."""
    depth_index: int = 0
    """Its number among the rows of its depth (torchinfo's `3-14`), from 1."""

    @property
    def name(self) -> str:
        """Qualified name, `layer1.0.conv1`; `""` for the model itself."""
        return self.node.name

    @property
    def var_name(self) -> str:
        """The attribute name in its parent, `conv1` (the model's class name for the model)."""
        return self.node.var_name

    @property
    def depth(self) -> int:
        """0 for the model, 1 for its children, ..."""
        return self.node.depth

    @property
    def module(self) -> nn.Module:
        """The module."""
        return self.node.module

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
        shared parameter counted once (torchinfo's `num_params`, `trainable_params`,
        `param_bytes`)."""
        total = trainable = size = 0
        for p in self.module.parameters():
            total += p.numel()
            size += p.numel() * p.element_size()
            if p.requires_grad:
                trainable += p.numel()
        return total, trainable, size


def first_shape(shape: Shape) -> list[int]:
    """A row's one shape, as torchinfo shows it: the tensor's, or the first tensor's of
    several (a tuple or dict output)."""
    while shape and isinstance(shape[0], list):
        shape = shape[0]
    return list(shape)


def flat_shape(shape: Shape) -> list[int]:
    """A row's shape when it is one tensor's, else [] (a module that returns several)."""
    return shape if shape and isinstance(shape[0], int) else []


def several_shapes(shape: Shape) -> list[Any] | None:
    """Every tensor's shape where a module takes or returns several, else None."""
    return shape if shape and isinstance(shape[0], list) else None


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


def _nested_size(value: Any) -> tuple[list[int], int]:
    """torchinfo's `nested_list_size`: the shape and element size of the first tensor found
    by first elements (a dict's values in order)."""
    if hasattr(value, "tensors"):
        return _nested_size(value.tensors)
    if isinstance(value, torch.Tensor):
        return list(value.size()), value.element_size()
    if not hasattr(value, "__getitem__") or not value:
        return [], 0
    if isinstance(value, dict):
        return _nested_size(list(value.values()))
    if callable(getattr(value, "size", None)) and callable(getattr(value, "element_size", None)):
        return list(value.size()), value.element_size()
    if isinstance(value, list | tuple):
        return _nested_size(value[0])
    return [], 0


def torchinfo_size(value: Any) -> tuple[list[int], int]:
    """torchinfo's `LayerInfo.calculate_size` of a module's arguments or output: (shape,
    element size) of a tensor; of a sequence's first item where that has a tensor `.data`
    (a tensor, a PackedSequence); of a dict's last value; else by first elements."""
    if value is None:
        return [], 0
    if isinstance(value, list | tuple) and value:
        data = getattr(value[0], "data", None)
        if isinstance(data, torch.Tensor):
            return list(data.size()), data.element_size()
    if isinstance(value, dict):
        return _nested_size(list(value.values())[-1]) if value else ([], 0)
    if isinstance(value, torch.Tensor):
        return list(value.size()), value.element_size()
    if isinstance(value, list | tuple):
        return _nested_size(value)
    return [], 0


@dataclass
class Walk:
    """The rows of one forward pass, and where it stopped if it failed."""

    rows: list[ModuleCall]
    """One per call, in call order; the model's own first."""
    running: list[ModuleCall]
    """Modules whose forward had started but not finished (innermost last)."""
    output: Any = None


def tree_nodes(model: nn.Module) -> dict[int, Node]:
    """Every module's place in the tree, by `id(module)`, parents first: torchinfo's walk over
    `_modules` (a module reachable by two paths takes the last; a module inside itself is not
    walked again)."""
    nodes: dict[int, Node] = {}
    stack = [Node("", type(model).__name__, 0, model, None)]
    while stack:
        node = stack.pop()
        nodes[id(node.module)] = node
        above: set[int] = set()
        parent: Node | None = node
        while parent is not None:
            above.add(id(parent.module))
            parent = parent.parent
        children = [
            Node(f"{node.name}.{var}" if node.name else var, var, node.depth + 1, child, node)
            for var, child in node.module._modules.items()
            if child is not None and id(child) not in above
        ]
        stack.extend(reversed(children))
    return nodes


@contextmanager
def hooked(model: nn.Module, counter: FlopCounterMode | None) -> Iterator[Walk]:
    """Within the block, every call of every module of `model` adds a row to the walk."""
    walk = Walk([], [])
    handles: list[RemovableHandle] = []
    calls: dict[int, int] = {}
    flops_at_start: dict[int, int] = {}

    def total_flops() -> int:
        return int(counter.get_total_flops()) if counter is not None else 0

    def on_pre(node: Node) -> Callable[..., None]:
        def pre_hook(module: nn.Module, args: Any) -> None:
            call = calls.get(id(module), 0)
            row = ModuleCall(
                node,
                call=call,
                input_shape=shape_of(args),
                input_size=torchinfo_size(args)[0],
                recursive=call > 0,
            )
            calls[id(module)] = call + 1
            walk.rows.append(row)
            walk.running.append(row)
            flops_at_start[id(row)] = total_flops()

        return pre_hook

    def on_post(module: nn.Module, args: Any, output: Any) -> None:
        row = walk.running.pop()
        row.output_shape = shape_of(output)
        row.output_size, element_size = torchinfo_size(output)
        row.output_bytes = element_size * prod(row.output_size)
        row.flops = total_flops() - flops_at_start.pop(id(row))
        row.executed = True

    try:
        for node in tree_nodes(model).values():
            handles.append(node.module.register_forward_pre_hook(on_pre(node)))
            handles.append(node.module.register_forward_hook(on_post))
        yield walk
    finally:
        for handle in handles:
            handle.remove()


def listing(rows: list[ModuleCall]) -> list[ModuleCall]:
    """torchinfo's `summary_list` from the rows of a pass (the model's first): each container
    that never ran itself inserted above its children wherever the listing enters it, as
    `add_missing_container_layers` does it, and every row's `depth_index` set, as
    `set_children_layers` does it. An inserted container may appear more than once (the same
    object: then it is recursive everywhere)."""
    listed = list(rows)
    ids = {id(row.module) for row in listed}
    current: dict[int, ModuleCall] = {}
    # torchinfo walks the list while it inserts into it, so inserted rows are walked too
    # (changing nothing); `listed[idx + inserted - 1]` is the row just above the insertion.
    for idx, row in enumerate(listed):
        inserted = 0
        ancestors: dict[int, ModuleCall] = {}
        node = row.node.parent
        while node is not None and node.depth > 0:
            ancestors[node.depth] = node.container_row()
            node = node.parent
        for depth in range(1, row.depth):
            ancestor = ancestors[depth]
            entered = depth not in current or current[depth].module is not ancestor.module
            if entered and ancestor is not listed[idx + inserted - 1]:
                if id(ancestor.module) in ids:
                    ancestor.recursive = True
                listed.insert(idx + inserted, ancestor)
                ids.add(id(ancestor.module))
                current[depth] = ancestor
                inserted += 1
        current[row.depth] = row
        deeper = row.depth + 1
        while deeper in current:
            current.pop(deeper)
            deeper += 1
    counts: dict[int, int] = {}
    for row in listed:
        counts[row.depth] = counts.get(row.depth, 0) + 1
        row.depth_index = counts[row.depth]
    return listed


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
