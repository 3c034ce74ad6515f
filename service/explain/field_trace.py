"""Receptive fields of every module of a model, found on the meta device: the forward pass runs
under a TorchDispatchMode that follows each ATen op with the arithmetic of
service.explain.fields, from the input (each unit its own position) to every tensor, and a
hook on every module keeps the windows of what each call returns.

Following ATen ops rather than modules covers any network a forward pass runs (torchvision's
residual adds, concatenations, in-place ReLUs, squeeze-and-excitation scales, ConvNeXt's
permuted linear layers) with one rule per kind of op:

- convolutions and max/average pooling slide windows (their own kernel, stride, padding,
  dilation); constant padding shifts them; adaptive pooling is a plain pooling where it
  divides evenly, and global where it pools to one unit;
- elementwise ops and normalization layers keep windows; several inputs on one grid (`add`,
  `cat` of channels) take the union;
- views, permutes, slices and matrix products over non-spatial dimensions move axes among
  dimensions; a flatten merges them (a later view may split them again);
- global pooling, a matrix product over positions (a linear layer on a flatten), a softmax over
  positions, broadcasting one window over positions (a squeeze-and-excitation scale),
  upsampling, transposed convolutions, padding by reflection and any op this module has no
  rule for end the grid: the tensor is `Untraced`, with the reason and the module where it
  happened, and so is everything computed from it.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.hooks import RemovableHandle
from torch.utils.weak import WeakTensorKeyDictionary

from service.explain import fields as fa
from service.explain.fields import Info, Traced, Untraced, Window
from service.running.capture import first_tensor

Bound = dict[str, Any]
Handler = Callable[["FieldTracer", Any, Bound, Any], Any]

POINTWISE_EXTRA = frozenset(
    {
        "add", "sub", "mul", "div", "where", "copy", "hardswish", "hardswish_", "_prelu_kernel",
        "log_sigmoid_forward", "rrelu_with_noise", "native_dropout", "eq", "ne", "lt", "le",
        "gt", "ge", "maximum", "minimum", "lerp", "addcmul", "addcdiv", "logical_and",
        "logical_or", "logical_not", "isnan", "isinf", "detach", "alias", "lift_fresh", "clone",
        "_to_copy", "contiguous", "dropout", "feature_dropout", "alpha_dropout",
    }
)  # fmt: skip
"""Elementwise ops PyTorch does not tag `pointwise` (or that only copy)."""
NORMALIZATION = frozenset(
    {
        "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
        "_native_batch_norm_legit_functional", "native_layer_norm", "native_group_norm",
    }
)  # fmt: skip
"""Normalization ops: their statistics count as constants (module docstring of fields)."""
CREATION = frozenset(
    {
        "new_empty", "new_zeros", "new_ones", "new_full", "new_empty_strided", "empty_like",
        "zeros_like", "ones_like", "full_like", "rand_like", "randn_like", "randint_like",
        "empty_strided", "scalar_tensor", "zero_", "fill_", "normal_", "uniform_",
        "bernoulli_", "random_", "exponential_", "geometric_", "cauchy_", "log_normal_",
    }
)  # fmt: skip
"""Ops whose result holds nothing of their tensor arguments' values (shapes only)."""
REDUCTIONS = frozenset(
    {
        "mean", "sum", "amax", "amin", "max", "min", "var", "std", "var_mean", "std_mean",
        "logsumexp", "linalg_vector_norm", "norm", "prod", "any", "all", "argmax", "argmin",
    }
)  # fmt: skip
RESHAPES = frozenset(
    {"view", "_unsafe_view", "reshape", "_reshape_alias", "squeeze", "unsqueeze", "flatten",
     "unflatten", "view_as"}
)  # fmt: skip


def bind(func: Any, args: Sequence[Any], kwargs: dict[str, Any]) -> Bound:
    """An op's arguments by their schema names, defaults filled in."""
    bound: Bound = {}
    for i, argument in enumerate(func._schema.arguments):
        if i < len(args):
            bound[argument.name] = args[i]
        elif argument.name in kwargs:
            bound[argument.name] = kwargs[argument.name]
        elif argument.has_default_value():
            bound[argument.name] = argument.default_value
    return bound


def _ints(value: Any, count: int, default: int | None = None) -> list[int]:
    """An int or int list argument as `count` ints (one value repeated; [] is `default`)."""
    if isinstance(value, int):
        return [value] * count
    values = [int(v) for v in value or []]
    if not values:
        return [default if default is not None else 0] * count
    return values * count if len(values) == 1 else values


def _dims(value: Any, ndim: int) -> list[int]:
    """A dim or dims argument as non-negative dims (None or [] is every dim)."""
    if value is None or (isinstance(value, list | tuple) and not value):
        return list(range(ndim))
    values = [value] if isinstance(value, int) else list(value)
    return [v % ndim if ndim else 0 for v in values]


class FieldTracer(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Follows every op of a forward pass, keeping each tensor's Info (see the module doc)."""

    def __init__(self, where: Callable[[], str]) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.where = where
        """Names the module running now, for reasons."""
        self.infos = WeakTensorKeyDictionary()

    def info(self, value: Any) -> Info | None:
        """A tensor's Info, or None when it holds nothing of the input (weights, constants)."""
        if isinstance(value, torch.Tensor):
            found: Info | None = self.infos.get(value)  # type: ignore[no-untyped-call]
            return found
        return None

    def set(self, value: Any, info: Info | None) -> None:
        """Record `info` for a tensor (None: it holds nothing of the input)."""
        if not isinstance(value, torch.Tensor):
            return
        if info is None:
            self.infos.pop(value, None)  # type: ignore[no-untyped-call]
        elif value.numel() == 0:
            self.infos[value] = Untraced("is empty")
        else:
            self.infos[value] = info

    def end(self, func: Any, phrase: str) -> Untraced:
        """The Info of a tensor past the end of the grid: where, what, which op."""
        return Untraced(f"{self.where()} {phrase} ({func.overloadpacket})")

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: Sequence[Any] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if any(self._tracked(value) for value in (*args, *kwargs.values())):
            bound = bind(func, args, kwargs)
            try:
                result = self._follow(func, bound, out)
            except (
                ValueError,
                TypeError,
                IndexError,
                KeyError,
                ZeroDivisionError,
                AssertionError,
            ) as exc:  # a gap in the rules ends the grid there; it never fails the forward
                result = self.end(func, f"runs an op the arithmetic could not follow: {exc}")
            self._assign(func, args, out, result)
        return out

    def _tracked(self, value: Any) -> bool:
        if isinstance(value, torch.Tensor):
            return value in self.infos
        if isinstance(value, list | tuple):
            return any(isinstance(v, torch.Tensor) and v in self.infos for v in value)
        return False

    def _follow(self, func: Any, bound: Bound, out: Any) -> Any:
        name = func.overloadpacket.__name__
        handler = HANDLERS.get(name)
        if handler is not None:
            return handler(self, func, bound, out)
        if name in CREATION:
            return None
        if name.startswith(("upsample", "_upsample")):
            return self.end(func, "upsamples: its windows do not move by whole input positions")
        if torch.Tag.pointwise in func.tags or name in POINTWISE_EXTRA:
            return _pointwise(self, func, bound, out)
        if name in NORMALIZATION:
            return _pointwise(self, func, {"input": bound["input"]}, out)
        if name in REDUCTIONS:
            return _reduction(self, func, bound, out)
        if name in RESHAPES:
            return _reshape(self, func, bound, out)
        return self._first_untraced(bound) or self.end(
            func, "runs an op receptive-field arithmetic does not follow"
        )

    def _first_untraced(self, bound: Bound) -> Untraced | None:
        for value in bound.values():
            for item in value if isinstance(value, list | tuple) else [value]:
                info = self.info(item)
                if isinstance(info, Untraced):
                    return info
        return None

    def _assign(self, func: Any, args: Sequence[Any], out: Any, result: Any) -> None:
        """Record the result's Info on the op's outputs; an op that writes into a view changes
        what its base holds too."""
        if isinstance(out, list | tuple):
            results = result if isinstance(result, list) else [result]
            for value, info in zip(out, results + [None] * (len(out) - len(results)), strict=True):
                self.set(value, info)
        else:
            self.set(out, result)
        mutable = func._schema.arguments and func._schema.arguments[0].alias_info
        if mutable and mutable.is_write and args and isinstance(args[0], torch.Tensor):
            written = args[0]
            if written is not out:
                self.set(written, result if not isinstance(result, list) else None)
            base = written._base if written._is_view() else None
            if base is not None:
                before, after = self.info(base), self.info(written)
                same = (
                    isinstance(before, Traced)
                    and isinstance(after, Traced)
                    and before.axes == after.axes
                )
                if not same and (before is not None or after is not None):
                    self.set(base, self.end(func, "writes into part of a tensor through a view"))


def _pointwise(tracer: FieldTracer, func: Any, bound: Bound, out: Any) -> Info | None:
    """Elementwise: the union of the inputs' windows, broadcast to the output's shape."""
    target = out[0] if isinstance(out, list | tuple) else out
    shape = list(target.shape)
    traced: list[Traced] = []
    ended: list[tuple[Untraced, list[int]]] = []
    for value in bound.values():
        for item in value if isinstance(value, list | tuple) else [value]:
            info = tracer.info(item)
            if isinstance(info, Traced):
                placed = fa.broadcast(info, list(item.shape), shape)
                if isinstance(placed, str):
                    return tracer.end(func, placed)
                traced.append(placed)
            elif isinstance(info, Untraced):
                ended.append((info, list(item.shape)))
    if ended:
        info, item_shape = ended[0]
        if traced and _spread(item_shape, shape, traced[0]):
            return Untraced(
                f"{tracer.where()} scales by a tensor that sees the whole input, a "
                f"squeeze-and-excitation ({func.overloadpacket}); before that, {info.reason}"
            )
        return info
    if not traced:
        return None
    joined = fa.union(traced)
    return tracer.end(func, joined) if isinstance(joined, str) else joined


def _spread(small: list[int], shape: list[int], grid: Traced) -> bool:
    """Whether a tensor of shape `small` is broadcast along a spatial dimension of `grid`."""
    lead = len(shape) - len(small)
    return any(
        fa.moving(dim) and (index < lead or small[index - lead] == 1)
        for index, dim in enumerate(grid.layout)
    )


def _convolution(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["input"])
    if not isinstance(info, Traced):
        return info
    weight = a["weight"]
    count = weight.dim() - 2
    if a["transposed"]:
        return tracer.end(
            func,
            "spreads each position over several outputs, a transposed convolution: its "
            "windows do not move by whole input positions",
        )
    channel = len(info.layout) - count - 1
    if channel >= 0 and fa.spatial(info.layout[channel]):
        return tracer.end(func, "mixes positions held in its channel dimension")
    kernel = list(weight.shape[2:])
    stride, padding = _ints(a["stride"], count, 1), _ints(a["padding"], count)
    dilation = _ints(a["dilation"], count, 1)
    windows = [Window(*w) for w in zip(kernel, stride, padding, dilation, strict=True)]
    slid = fa.slide(info, windows, list(out.shape))
    if isinstance(slid, str):
        return tracer.end(func, slid)
    if channel < 0:
        return slid
    layout = list(slid.layout)
    layout[channel] = fa.plain(out.shape[channel])
    return replace(slid, layout=tuple(layout))


def _pool(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    name = func.overloadpacket.__name__
    count = int(next(c for c in name if c.isdigit()))
    kernel = _ints(a["kernel_size"], count)
    stride = _ints(a.get("stride"), count) if a.get("stride") else kernel
    padding = _ints(a.get("padding", 0), count)
    dilation = _ints(a.get("dilation", 1), count, 1)
    windows = [Window(*w) for w in zip(kernel, stride, padding, dilation, strict=True)]
    result = out[0] if isinstance(out, list | tuple) else out
    slid = fa.slide(info, windows, list(result.shape))
    return tracer.end(func, slid) if isinstance(slid, str) else slid


def _adaptive(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    result = out[0] if isinstance(out, list | tuple) else out
    sizes = list(a["output_size"])
    count = len(sizes)
    windows = []
    for offset, wanted in enumerate(sizes):
        dim = info.layout[len(info.layout) - count + offset]
        have = fa.size_of(dim)
        if wanted == have or not fa.moving(dim):
            windows.append(Window(1, 1, 0))
        elif wanted == 1:
            return tracer.end(
                func, "pools every position of a spatial axis into one: a global pooling"
            )
        elif have % wanted == 0:
            windows.append(Window(have // wanted, have // wanted, 0))
        else:
            return tracer.end(
                func, f"pools {have} positions into {wanted}: windows of different sizes"
            )
    slid = fa.slide(info, windows, list(result.shape))
    return tracer.end(func, slid) if isinstance(slid, str) else slid


def _constant_pad(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    pad = list(a["pad"])
    count = len(pad) // 2
    windows = [Window(1, 1, pad[2 * (count - 1 - i)]) for i in range(count)]
    slid = fa.slide(info, windows, list(out.shape))
    return tracer.end(func, slid) if isinstance(slid, str) else slid


def _mirror_pad(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    pad = list(a["padding"])
    count = len(pad) // 2
    for i in range(count):
        dim = info.layout[len(info.layout) - 1 - i]
        if fa.spatial(dim) and (pad[2 * i] or pad[2 * i + 1]):
            return tracer.end(
                func,
                "pads by mirroring or repeating the edge: positions outside the input stand "
                "for positions inside it",
            )
    slid = fa.slide(info, [Window(1, 1, 0)] * count, list(out.shape))
    return tracer.end(func, slid) if isinstance(slid, str) else slid


def _reduction(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a.get("self", a.get("input")))
    if not isinstance(info, Traced):
        return info
    dims = _dims(a.get("dim"), len(info.layout))
    reduced = fa.reduce(info, dims, bool(a.get("keepdim", False)))
    return tracer.end(func, reduced) if isinstance(reduced, str) else reduced


def _softmax(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    dim = a["dim"] % len(info.layout)
    if fa.moving(info.layout[dim]):
        return tracer.end(func, f"normalizes across the positions of a spatial axis, dim {dim}")
    layout = list(info.layout)
    layout[dim] = fa.plain(out.shape[dim])
    return replace(info, layout=tuple(layout))


def _note_merge(tracer: FieldTracer, func: Any, info: Traced) -> Traced:
    if info.merged_at is None and any(len(d) > 1 and fa.spatial(d) for d in info.layout):
        return replace(
            info,
            merged_at=f"{tracer.where()} merges spatial dimensions with others into one, a "
            f"flatten ({func.overloadpacket}): its units lie on no grid of the input",
        )
    return info


def _reshape(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    shaped = fa.reshape(info, list(out.shape))
    return (
        tracer.end(func, shaped) if isinstance(shaped, str) else _note_merge(tracer, func, shaped)
    )


def _permute(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    ndim = len(info.layout)
    name = func.overloadpacket.__name__
    order = list(range(ndim))
    if name == "permute":
        order = [d % ndim for d in a["dims"]]
    elif ndim >= 2:
        first, second = (0, 1) if name == "t" else (a["dim0"] % ndim, a["dim1"] % ndim)
        order[first], order[second] = order[second], order[first]
    return fa.permute(info, order)


def _expand(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    placed = fa.broadcast(info, list(a["self"].shape), list(out.shape))
    return tracer.end(func, placed) if isinstance(placed, str) else placed


def _repeat(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    repeats = list(a["repeats"])
    lead = len(repeats) - len(info.layout)
    layout = [fa.plain(s) for s in out.shape[:lead]]
    for dim, times, size in zip(info.layout, repeats[lead:], out.shape[lead:], strict=True):
        if times != 1 and fa.spatial(dim):
            return tracer.end(func, "repeats positions along a spatial axis")
        layout.append(dim if times == 1 else fa.plain(size))
    return replace(info, layout=tuple(layout))


def _slice(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    size = a["self"].shape[a["dim"]]
    dim = a["dim"] % len(info.layout)
    begin = 0 if a["start"] is None else a["start"]
    begin = min(max(begin + size if begin < 0 else begin, 0), size)
    cut = fa.cut(info, dim, begin, a["step"], out.shape[dim])
    return tracer.end(func, cut) if isinstance(cut, str) else cut


def _select(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return info
    dim = a["dim"] % len(info.layout)
    index = a["index"] % a["self"].shape[dim]
    picked = fa.pick(info, dim, index)
    return tracer.end(func, picked) if isinstance(picked, str) else picked


def _split(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> list[Info | None]:
    info = tracer.info(a["self"])
    if not isinstance(info, Traced):
        return [info] * len(out)
    dim = a.get("dim", 0) % len(info.layout)
    pieces: list[Info | None] = []
    begin = 0
    for piece in out:
        if func.overloadpacket.__name__ == "unbind":
            picked = fa.pick(info, dim, begin)
            begin += 1
        else:
            picked = fa.cut(info, dim, begin, 1, piece.shape[dim])
            begin += piece.shape[dim]
        pieces.append(tracer.end(func, picked) if isinstance(picked, str) else picked)
    return pieces


def _cat(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    stack = func.overloadpacket.__name__ == "stack"
    values = [v for v in a["tensors"] if isinstance(v, torch.Tensor)]
    infos = [tracer.info(v) for v in values]
    ended = next((i for i in infos if isinstance(i, Untraced)), None)
    if ended is not None:
        return ended
    ndim = out.dim()
    dim = a["dim"] % ndim
    traced: list[Traced] = []
    for info in infos:
        if not isinstance(info, Traced):
            continue
        layout = list(info.layout)
        if stack:
            layout.insert(dim, fa.plain(out.shape[dim]))
        elif fa.spatial(layout[dim]):
            return tracer.end(func, "concatenates along a spatial axis")
        else:
            layout[dim] = fa.plain(out.shape[dim])
        traced.append(replace(info, layout=tuple(layout)))
    joined = fa.union(traced)
    return tracer.end(func, joined) if isinstance(joined, str) else joined


MATRIX_ARGS = {
    "mm": ("self", "mat2", False),
    "addmm": ("mat1", "mat2", False),
    "bmm": ("self", "mat2", True),
    "baddbmm": ("batch1", "batch2", True),
}


def _matmul(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    left_name, right_name, batched = MATRIX_ARGS[func.overloadpacket.__name__]
    left, right = tracer.info(a[left_name]), tracer.info(a[right_name])
    for info in (left, right):
        if isinstance(info, Untraced):
            return info
    if isinstance(left, Traced) and isinstance(right, Traced):
        return tracer.end(func, "multiplies two tensors that both depend on the input")
    lead = 1 if batched else 0
    if isinstance(left, Traced):
        if fa.spatial(left.layout[lead + 1]):
            return tracer.end(
                func, "sums over the positions of a spatial axis: a matrix product over them"
            )
        layout = (*left.layout[: lead + 1], fa.plain(out.shape[-1]))
        return replace(left, layout=layout)
    if isinstance(right, Traced):
        if fa.spatial(right.layout[lead]):
            return tracer.end(
                func, "sums over the positions of a spatial axis: a matrix product over them"
            )
        head = right.layout[:lead]
        layout = (*head, fa.plain(out.shape[-2]), right.layout[lead + 1])
        return replace(right, layout=layout)
    return None


def _copy(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
    src = a["src"]
    info = tracer.info(src)
    if not isinstance(info, Traced):
        return info
    placed = fa.broadcast(info, list(src.shape), list(out.shape))
    return tracer.end(func, placed) if isinstance(placed, str) else placed


def _ends(phrase: str) -> Handler:
    def handler(tracer: FieldTracer, func: Any, a: Bound, out: Any) -> Info | None:
        return tracer._first_untraced(a) or tracer.end(func, phrase)

    return handler


HANDLERS: dict[str, Handler] = {
    "convolution": _convolution,
    "_convolution": _convolution,
    **dict.fromkeys(
        [
            "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
            "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d",
            "avg_pool3d",
        ],
        _pool,
    ),
    **dict.fromkeys(
        ["_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool2d",
         "adaptive_max_pool3d", "adaptive_avg_pool1d", "adaptive_max_pool1d"],
        _adaptive,
    ),
    "constant_pad_nd": _constant_pad,
    **dict.fromkeys(
        ["reflection_pad1d", "reflection_pad2d", "reflection_pad3d", "replication_pad1d",
         "replication_pad2d", "replication_pad3d"],
        _mirror_pad,
    ),
    "_softmax": _softmax,
    "_log_softmax": _softmax,
    "glu": _softmax,
    "permute": _permute,
    "transpose": _permute,
    "t": _permute,
    "expand": _expand,
    "repeat": _repeat,
    "slice": _slice,
    "select": _select,
    "split": _split,
    "split_with_sizes": _split,
    "unbind": _split,
    "cat": _cat,
    "stack": _cat,
    **dict.fromkeys(MATRIX_ARGS, _matmul),
    "copy_": _copy,
    "pixel_shuffle": _ends("moves channels into positions: a pixel shuffle"),
    "pixel_unshuffle": _ends("moves positions into channels: a pixel unshuffle"),
}  # fmt: skip


@dataclass
class ModuleFields:
    """The windows of what each call of each module returned, from one forward pass."""

    spatial_dims: int | None
    tracer: FieldTracer | None = None
    """The mode to run the forward pass under (None: nothing to follow)."""
    calls: dict[tuple[int, int], Info | None] = field(default_factory=dict)
    """(id(module), call) -> the Info of its output (None: it holds nothing of the input)."""
    reason: str | None = None
    """Why no module has a field at all (no spatial layers), or None."""

    def mode(self) -> AbstractContextManager[Any]:
        """The dispatch mode that follows the ops (enter it innermost, so that it sees each op
        before other modes decompose it); a no-op where there is nothing to follow."""
        return self.tracer if self.tracer is not None else nullcontext()

    def of(self, module: nn.Module, call: int) -> Info | str | None:
        """The Info of that call's output; a str where it did not run (or nothing has one)."""
        if self.reason is not None:
            return self.reason
        key = (id(module), call)
        if key not in self.calls:
            return "this container does not run itself: its children's rows have their fields"
        return self.calls[key]


@contextmanager
def tracing(model: nn.Module, x: torch.Tensor, spatial_dims: int | None) -> Iterator[ModuleFields]:
    """Within the block, a forward pass of `model` on `x` run under the yielded fields'
    `mode()` records every module call's field (x's last `spatial_dims` dimensions are the
    input's spatial axes). The hooks are removed when the block ends, also on error."""
    if spatial_dims is None or x.dim() < spatial_dims + 1:
        yield ModuleFields(
            spatial_dims,
            reason="the model has no convolution or pooling layer, so its input has no spatial "
            "axes for a unit to see part of",
        )
        return
    names = {id(module): name for name, module in model.named_modules(remove_duplicate=False)}
    running: list[nn.Module] = []
    counts: dict[int, int] = {}

    def where() -> str:
        if not running or not names.get(id(running[-1])):
            return "the model"
        module = running[-1]
        return f"module {names[id(module)]} ({type(module).__name__})"

    tracer = FieldTracer(where)
    found = ModuleFields(spatial_dims, tracer)

    def pre_hook(module: nn.Module, args: Any) -> None:
        running.append(module)

    def hook(module: nn.Module, args: Any, output: Any) -> None:
        running.pop()
        call = counts.get(id(module), 0)
        counts[id(module)] = call + 1
        found.calls[(id(module), call)] = tracer.info(first_tensor(output))

    handles: list[RemovableHandle] = []
    try:
        for module in model.modules():
            handles.append(module.register_forward_pre_hook(pre_hook))
            handles.append(module.register_forward_hook(hook))
        tracer.set(x, fa.start_layout(list(x.shape), spatial_dims))
        yield found
    finally:
        for handle in handles:
            handle.remove()


def spatial_dims_of(model: nn.Module, table: dict[str, int | None]) -> int | None:
    """The spatial dimensions of a model's input: those of its first module (in definition
    order) that slides over some (`table`: torch.nn class name -> its spatial dimensions)."""
    for module in model.modules():
        dims = table.get(type(module).__name__)
        if dims:
            return dims
    return None


def field_object(info: Traced) -> dict[str, list[int] | list[float]]:
    """A field as the API writes it: `size`, `jump`, `start` per spatial axis."""
    return {
        "size": [axis.size for axis in info.axes],
        "jump": [axis.jump for axis in info.axes],
        "start": [axis.start for axis in info.axes],
    }


def row_field(
    fields: ModuleFields | None, module: nn.Module, call: int
) -> tuple[dict[str, Any] | None, str | None]:
    """A table row's `receptive_field` and `receptive_field_reason` (why it is null)."""
    if fields is None:
        return None, "not computed"
    info = fields.of(module, call)
    if isinstance(info, str):
        return None, info
    if info is None:
        return None, "its output holds nothing computed from the input"
    if isinstance(info, Untraced):
        return None, info.reason
    if not info.on_grid():
        return None, info.merged_at or "its units lie on no grid of the input"
    return field_object(info), None
