"""Receptive-field arithmetic: what window of the input one unit of a tensor sees, per spatial
axis, and how each kind of op changes it.

Along one spatial axis of the input, a tensor's units sit on a grid: unit i sees the input
positions `lo + i * jump` to `lo + i * jump + size - 1` (pixel indices of the input, inclusive;
they may run past the input where layers pad). A window of `kernel` positions (dilation
`dilation`) sliding by `stride` over a tensor with padding `padding` makes

    size' = size + (kernel - 1) * dilation * jump
    jump' = jump * stride
    lo'   = lo - padding * jump

the recurrence of Dumoulin & Visin, "A guide to convolution arithmetic for deep learning"
(2016), as Dang Ha The Hien's "A guide to receptive field arithmetic for Convolutional Neural
Networks" (2017) and Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural
Networks" (Distill, 2019, eqs. 1-2 and 9-10) write it. `start`, the centre of unit 0's window,
is `lo + (size - 1) / 2` (Dang Ha The Hien's `start`, with pixel i's centre at i rather than
i + 0.5), so it is half-integral for an even window; it moves by
`((kernel - 1) * dilation / 2 - padding) * jump`.

Elementwise ops and normalization layers keep their input's windows; an op that takes several
inputs on the same grid (a residual add, a concatenation of channels) sees the union of their
windows. The statistics of a normalization layer (batch norm in train mode, instance, group
and layer norm) are treated as constants, as this arithmetic always has (Araujo et al. ibid.):
only the values on the path through the weights count.

A tensor's dimensions are tracked as `Layout`: each dimension is a sequence of atoms
(outermost first), an atom being a spatial axis of the input with its number of units, or
`None` for anything else (batch, channels, features). Most dimensions are one atom; a flatten
merges several into one dimension (its units then lie on no grid), a view back splits them
again. A spatial atom of one unit may disappear (the axis is then at position 0).
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

Atom = tuple[int | None, int]
"""(spatial axis of the input, or None; units along it)."""
Dim = tuple[Atom, ...]
"""One dimension of a tensor: its atoms, outermost first; () for a dimension of size 1."""
Layout = tuple[Dim, ...]


@dataclass(frozen=True)
class Axis:
    """The windows of a tensor's units along one spatial axis of the input."""

    size: int
    """Positions one unit sees."""
    jump: int
    """How far the window moves from one unit to the next (the effective stride)."""
    lo: int
    """First input position unit 0 sees (negative where the window starts in padding)."""

    @property
    def start(self) -> float:
        """The centre of unit 0's window, in input positions."""
        return self.lo + (self.size - 1) / 2

    def window(self, unit: int) -> tuple[int, int]:
        """The first and last input position unit `unit` sees (inclusive)."""
        first = self.lo + unit * self.jump
        return first, first + self.size - 1

    def slide(self, kernel: int, stride: int, padding: int, dilation: int) -> "Axis":
        """The windows after a window of `kernel` (dilated) slides by `stride` over padding."""
        return Axis(
            self.size + (kernel - 1) * dilation * self.jump,
            self.jump * stride,
            self.lo - padding * self.jump,
        )

    def union(self, other: "Axis") -> "Axis | None":
        """The windows of units that see what either grid's unit sees; None where the grids
        move by different jumps (no one window per unit)."""
        if self.jump != other.jump:
            return None
        lo = min(self.lo, other.lo)
        hi = max(self.lo + self.size, other.lo + other.size)
        return Axis(hi - lo, self.jump, lo)

    def units_seeing(self, first: int, last: int, count: int) -> tuple[int, int] | None:
        """The units (of `count`) whose window meets input positions first..last, as a range,
        or None when none does."""
        low = max(0, math.ceil((first - self.lo - self.size + 1) / self.jump))
        high = min(count - 1, math.floor((last - self.lo) / self.jump))
        return (low, high) if low <= high else None


IDENTITY = Axis(1, 1, 0)
"""The input itself: each unit sees its own position."""


@dataclass(frozen=True)
class Traced:
    """A tensor on the input's grid: its windows per spatial axis of the input, and where the
    axes lie among its dimensions."""

    axes: tuple[Axis, ...]
    layout: Layout
    merged_at: str | None = None
    """Where spatial dimensions were merged with others into one (a flatten), if they are."""

    def on_grid(self) -> bool:
        """Every spatial axis has a dimension of its own (or is down to one unit)."""
        return all(
            len(dim) == 1 or all(axis is None for axis, _ in dim)
            for dim in self.layout
            if any(axis is not None for axis, _ in dim)
        )

    def dim_of(self, axis: int) -> int | None:
        """The dimension that holds `axis` alone, or None (one unit left, or merged)."""
        for index, dim in enumerate(self.layout):
            if len(dim) == 1 and dim[0][0] == axis:
                return index
        return None


@dataclass(frozen=True)
class Untraced:
    """A tensor whose units see no window of the input (past a global pool, a flatten into a
    linear layer, an op the arithmetic does not follow), and why."""

    reason: str


Info = Traced | Untraced


def normal(dim: Sequence[Atom]) -> Dim:
    """A dimension's atoms with `None` atoms of one unit dropped and neighbouring ones merged."""
    out: list[Atom] = []
    for axis, size in dim:
        if axis is None and size == 1:
            continue
        if axis is None and out and out[-1][0] is None:
            out[-1] = (None, out[-1][1] * size)
        else:
            out.append((axis, size))
    return tuple(out)


def plain(size: int) -> Dim:
    """A dimension of `size` that holds no spatial axis."""
    return normal([(None, size)])


def size_of(dim: Dim) -> int:
    """The number of positions of a dimension."""
    return math.prod(size for _, size in dim)


def spatial(dim: Dim) -> bool:
    """Whether a dimension holds a spatial axis."""
    return any(axis is not None for axis, _ in dim)


def moving(dim: Dim) -> bool:
    """Whether a dimension holds a spatial axis of more than one unit."""
    return any(axis is not None and size > 1 for axis, size in dim)


def start_layout(shape: Sequence[int], spatial_dims: int) -> Traced:
    """The input itself: its last `spatial_dims` dimensions are the axes, each unit its own
    position."""
    lead = len(shape) - spatial_dims
    layout = tuple(plain(s) for s in shape[:lead]) + tuple(
        ((axis, size),) for axis, size in enumerate(shape[lead:])
    )
    return Traced((IDENTITY,) * spatial_dims, layout)


def reshape(info: Traced, out_shape: Sequence[int]) -> Traced | str:
    """The layout after a row-major reshape (view, flatten, squeeze, unsqueeze) to
    `out_shape`, or why none: a spatial axis of several units survives when it lies within one
    output dimension, whole (merged with others or not); split across two, it is lost. A
    spatial atom of one unit is dropped (its axis is then at position 0)."""
    atoms: list[tuple[int, int, int]] = []  # (axis, size, inner product below it)
    inner = 1
    for dim in reversed(info.layout):
        for axis, size in reversed(dim):
            if axis is not None and size > 1:
                atoms.append((axis, size, inner))
            inner *= size
    layout: list[Dim] = []
    inner = 1
    placed = 0
    for size in reversed(out_shape):
        low, high = inner, inner * size
        inside = [
            (axis, n, below)
            for axis, n, below in atoms
            if low <= below and below * n <= high and below % low == 0 and high % (below * n) == 0
        ]
        placed += len(inside)
        atoms_here: list[Atom] = []
        edge = high
        for axis, n, below in sorted(inside, key=lambda atom: -atom[2]):
            atoms_here.append((None, edge // (below * n)))
            atoms_here.append((axis, n))
            edge = below
        atoms_here.append((None, edge // low))
        layout.append(normal(atoms_here))
        inner = high
    if placed != len(atoms):
        return "splits a spatial dimension across dimensions"
    new = tuple(reversed(layout))
    return replace(info, layout=new, merged_at=info.merged_at if _merged(new) else None)


def _merged(layout: Layout) -> bool:
    return any(len(dim) > 1 and spatial(dim) for dim in layout)


def permute(info: Traced, order: Sequence[int]) -> Traced:
    """The layout after the dimensions are reordered (permute, transpose)."""
    return replace(info, layout=tuple(info.layout[i] for i in order))


def broadcast(info: Traced, shape: Sequence[int], out_shape: Sequence[int]) -> Traced | str:
    """The layout of a tensor of `shape` broadcast to `out_shape` (expand, or an elementwise
    op's broadcasting), or why none: repeating one unit along a spatial axis makes windows that
    do not move."""
    lead = len(out_shape) - len(shape)
    layout = [plain(s) for s in out_shape[:lead]]
    for dim, size, out in zip(info.layout, shape, out_shape[lead:], strict=True):
        if size == out:
            layout.append(dim)
        elif spatial(dim):
            return "repeats one window along a spatial axis: a broadcast"
        else:
            layout.append(plain(out))
    return replace(info, layout=tuple(layout))


def union(infos: Sequence[Traced]) -> Traced | str:
    """One tensor from several on the same grid (elementwise, concatenation): each unit sees
    what the units at its place see; or why not one grid."""
    first = infos[0]
    axes = list(first.axes)
    for other in infos[1:]:
        if other.layout != first.layout:
            return "combines tensors whose dimensions hold different spatial axes"
        for i, axis in enumerate(other.axes):
            joined = axes[i].union(axis)
            if joined is None:
                return "combines tensors on grids of different strides"
            axes[i] = joined
    merged = next((info.merged_at for info in infos if info.merged_at), None)
    return Traced(tuple(axes), first.layout, merged)


@dataclass(frozen=True)
class Window:
    """A window sliding over one dimension: convolution or pooling arguments."""

    kernel: int
    stride: int
    padding: int
    dilation: int = 1

    @property
    def identity(self) -> bool:
        """Leaves every position where it is (1, 1, 0)."""
        return self.kernel == 1 and self.stride == 1 and self.padding == 0


def slide(info: Traced, windows: Sequence[Window], out_shape: Sequence[int]) -> Traced | str:
    """The windows after a window slides over the last len(windows) dimensions (whose sizes
    become `out_shape`'s): each spatial axis among them by the recurrence; a dimension that
    holds no spatial axis just changes size; one that holds a spatial axis merged with others
    must be left as it is."""
    count = len(windows)
    axes = list(info.axes)
    layout = list(info.layout)
    for offset, window in enumerate(windows):
        index = len(layout) - count + offset
        dim, size = layout[index], out_shape[index]
        if not spatial(dim):
            layout[index] = plain(size)
        elif len(dim) == 1:
            axis = dim[0][0]
            assert axis is not None
            axes[axis] = axes[axis].slide(
                window.kernel, window.stride, window.padding, window.dilation
            )
            layout[index] = ((axis, size),)
        elif not window.identity or size_of(dim) != size:
            return "slides a window over spatial dimensions merged with others"
    return replace(info, axes=tuple(axes), layout=tuple(layout))


def reduce(info: Traced, dims: Sequence[int], keepdim: bool) -> Traced | str:
    """The layout after a reduction over `dims` (mean, sum, max, ...), or why none: reducing
    over a spatial axis of several units sees all of them."""
    axes = list(info.axes)
    layout: list[Dim] = []
    for index, dim in enumerate(info.layout):
        if index not in dims:
            layout.append(dim)
            continue
        if moving(dim):
            return "reduces over every position of a spatial axis: a global pooling"
        if keepdim:
            layout.append(tuple(atom for atom in dim if atom[0] is not None))
    return Traced(tuple(axes), tuple(layout), info.merged_at)


def cut(info: Traced, dim: int, begin: int, step: int, size: int) -> Traced | str:
    """The layout after taking positions begin, begin + step, ... (`size` of them) of one
    dimension (slice, split, narrow)."""
    atoms = info.layout[dim]
    if not spatial(atoms):
        layout = list(info.layout)
        layout[dim] = plain(size)
        return replace(info, layout=tuple(layout))
    if len(atoms) > 1:
        return "takes part of spatial dimensions merged with others"
    axis = atoms[0][0]
    assert axis is not None
    axes = list(info.axes)
    old = axes[axis]
    axes[axis] = Axis(old.size, old.jump * step, old.lo + begin * old.jump)
    layout = list(info.layout)
    layout[dim] = ((axis, size),)
    return replace(info, axes=tuple(axes), layout=tuple(layout))


def pick(info: Traced, dim: int, index: int) -> Traced | str:
    """The layout after one position of a dimension is taken and the dimension dropped."""
    taken = cut(info, dim, index, 1, 1)
    if isinstance(taken, str):
        return taken
    layout = list(taken.layout)
    del layout[dim]
    return replace(taken, layout=tuple(layout))
