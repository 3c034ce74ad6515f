"""PyTorch's own module test cases, for every torch.nn class layerscope's vocabulary has, as raw
layer specs with their inputs; plus a table of our own for what PyTorch's tables lack.

Sources, in order:
- `module_db` (torch.testing._internal.common_modules): each ModuleInfo's
  `module_inputs_func(info, device="cpu", dtype=float64, requires_grad=True, training=...)`,
  once per mode (a case PyTorch lists for training only runs in train mode);
- `common_nn` (torch.testing._internal.common_nn): `module_tests` and
  `get_new_module_tests()`, by `module_name`, or by the torch.nn class a `constructor` lambda
  builds (recorded as it runs), or by the module whose forward is a wrapped functional
  (`F.interpolate` is `nn.Upsample`, `F.softmax` is `nn.Softmax`, `F.log_softmax` is
  `nn.LogSoftmax`, when the functional's keywords are the module's own);
- `own`: OWN_CASES below: 0-d inputs for elementwise layers, unbatched inputs, zero-size
  batches, and the types PyTorch's tables have no case for (dropout, identity, upsample modes).

Constructor arguments are bound to the class's signature (`inspect.signature`) and become the
spec's fields: tuples and torch.Size as lists, `device`/`dtype` dropped. What a request cannot
say is skipped and counted by reason (`Collected.skipped`):
- several forward inputs, or forward keywords other than the input itself;
- `return_indices=True` (the pool returns a pair: layerscope does not offer it);
- `_weight`/`_freeze` (private constructor arguments; `weights.state` is layerscope's way);
- arguments that are not JSON values (functions, tensors).
`inplace` is dropped from the spec (layerscope does not offer it) and from the direct module
alike: an in-place activation computes the same values and gradients, it only overwrites its
input, which the report must keep readable (and which PyTorch refuses for a leaf that requires
grad). `Collected.dropped` counts those.
"""

import functools
import inspect
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from schemas.layer_specs import ALL_SPECS, ActivationSpecBase, type_name

TAGS: dict[type[nn.Module], str] = {
    getattr(nn, spec.TORCH_CLASS): type_name(spec) for spec in ALL_SPECS
}
"""Each vocabulary class -> its tag: `conv2d`, or `activation:relu`."""

MODES = ("train", "eval")
UNSUPPORTED_ARGS = {"_weight": "_weight/_freeze", "_freeze": "_weight/_freeze"}
DROPPED_ARGS = frozenset({"inplace"})
FUNCTIONAL_MODULES: dict[Callable[..., Any], type[nn.Module]] = {
    F.interpolate: nn.Upsample,
    F.softmax: nn.Softmax,
    F.log_softmax: nn.LogSoftmax,
}
"""Functionals whose module's forward is exactly the functional with the module's arguments."""


class Unexpressible(Exception):
    """A PyTorch case a layerscope request cannot say; the message is the counted reason."""


@dataclass(frozen=True)
class ModuleCase:
    """One case: a torch.nn class with its constructor's arguments, the raw layer spec that
    says the same, and an input (float64 values, or int64 indices)."""

    source: str
    name: str
    cls: type[nn.Module]
    kwargs: dict[str, Any]
    spec: dict[str, Any]
    input: torch.Tensor
    modes: tuple[str, ...] = MODES

    @property
    def tag(self) -> str:
        """The vocabulary type: `conv2d`, or `activation:relu`."""
        return TAGS[self.cls]

    @property
    def requires_grad(self) -> bool:
        """Float inputs require grad (as PyTorch's module tests make them); indices never."""
        return self.input.is_floating_point()

    def build(self) -> nn.Module:
        """The module as PyTorch's own case constructs it (current RNG, float32, CPU)."""
        return self.cls(**self.kwargs)

    def input_as(self, dtype: torch.dtype) -> torch.Tensor:
        """A fresh copy of the input in `dtype` (float inputs only; indices stay int64)."""
        want = dtype if self.input.is_floating_point() else torch.int64
        return self.input.detach().to(want, copy=True)


@dataclass
class Collected:
    """Every case, and what was skipped or dropped, by reason."""

    cases: list[ModuleCase] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)

    def per_source(self) -> Counter[str]:
        """How many cases each source gave."""
        return Counter(case.source for case in self.cases)

    def per_type(self) -> Counter[str]:
        """How many cases each vocabulary type has."""
        return Counter(case.tag for case in self.cases)


def _json_value(value: Any) -> Any:
    """A constructor argument as JSON: tuples and sizes as lists; Unexpressible otherwise."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list | torch.Size):
        return [_json_value(v) for v in value]
    raise Unexpressible(f"argument not a JSON value ({type(value).__name__})")


def spec_of(
    cls: type[nn.Module], args: tuple[Any, ...], kwargs: dict[str, Any], dropped: Counter[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bind PyTorch's constructor call to the class's signature; return (the keyword arguments
    the direct module is built with, the raw layer spec)."""
    bound = inspect.signature(cls).bind(*args, **kwargs).arguments
    call: dict[str, Any] = {}
    spec: dict[str, Any] = {}
    for name, value in bound.items():
        if name in {"device", "dtype"}:
            continue
        if name in UNSUPPORTED_ARGS:
            raise Unexpressible(UNSUPPORTED_ARGS[name])
        if name == "return_indices" and value:
            raise Unexpressible("return_indices=True")
        if name in DROPPED_ARGS:
            dropped[f"{name}={value}"] += 1
            continue
        call[name] = value
        spec[name] = _json_value(value)
    tag = TAGS[cls]
    head = {"type": "activation", "name": tag.split(":", 1)[1]} if ":" in tag else {"type": tag}
    return call, head | spec


def _single_input(args: Any, kwargs: dict[str, Any], cls: type[nn.Module]) -> torch.Tensor:
    """The one tensor a forward pass takes, positionally or by the forward's own name."""
    forward_params = list(inspect.signature(cls.forward).parameters)[1:]
    if not args and list(kwargs) == forward_params[:1]:
        args, kwargs = (kwargs[forward_params[0]],), {}
    if kwargs:
        raise Unexpressible("forward keywords")
    if len(args) != 1 or not isinstance(args[0], torch.Tensor):
        raise Unexpressible("several forward inputs")
    tensor = args[0].detach()
    if tensor.is_complex():
        raise Unexpressible("complex input")
    return tensor.to(torch.float64) if tensor.is_floating_point() else tensor.to(torch.int64)


def _add(
    out: Collected,
    source: str,
    name: str,
    cls: type[nn.Module],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    make_input: Callable[[], torch.Tensor],
    modes: tuple[str, ...] = MODES,
) -> None:
    try:
        call, spec = spec_of(cls, args, kwargs, out.dropped)
        tensor = make_input()
    except Unexpressible as why:
        out.skipped[f"{source}: {why}"] += 1
        return
    out.cases.append(ModuleCase(source, name, cls, call, spec, tensor, modes))


def pytorch_tables() -> tuple[Any, Any]:
    """PyTorch's test tables: (common_modules.module_db, the common_nn module).

    Importing them runs common_utils, which freezes torch.backends' flags for the whole process
    (`disable_global_flags()`); the service sets those flags when it starts (allow_tf32), so
    the freeze is undone here, as it was before the import.
    """
    frozen = torch.backends.flags_frozen()
    from torch.testing._internal import common_modules, common_nn

    if not frozen:
        torch.backends.flags_frozen.__globals__["__allow_nonbracketed_mutation_flag"] = True
    assert torch.backends.flags_frozen() == frozen
    return common_modules.module_db, common_nn


def collect_module_db(out: Collected) -> None:
    """common_modules.module_db: each vocabulary class's inputs, per mode."""
    module_db, _ = pytorch_tables()

    seen: dict[tuple[str, str, str, tuple[int, ...]], int] = {}
    for info in module_db:
        cls = info.module_cls
        if cls not in TAGS:
            continue
        for mode in MODES:
            inputs = info.module_inputs_func(
                info,
                device="cpu",
                dtype=torch.float64,
                requires_grad=True,
                training=mode == "train",
            )
            for number, case in enumerate(inputs):
                ctor, fwd = case.constructor_input, case.forward_input
                key = (
                    cls.__name__,
                    repr((ctor.args, ctor.kwargs)),
                    case.desc,
                    tuple(a.shape for a in fwd.args if isinstance(a, torch.Tensor)),
                )
                if key in seen:
                    index = seen[key]
                    found = out.cases[index]
                    out.cases[index] = replace(found, modes=(*found.modes, mode))
                    continue
                name = f"{cls.__name__}.{case.desc or number}"
                before = len(out.cases)
                _add(
                    out,
                    "module_db",
                    name,
                    cls,
                    ctor.args,
                    ctor.kwargs,
                    functools.partial(_single_input, fwd.args, fwd.kwargs, cls),
                    (mode,),
                )
                if len(out.cases) > before:
                    seen[key] = before


@contextmanager
def recording_constructors() -> Iterator[
    list[tuple[type[nn.Module], tuple[Any, ...], dict[str, Any]]]
]:
    """Record the outermost constructor call of each vocabulary class made inside."""
    calls: list[tuple[type[nn.Module], tuple[Any, ...], dict[str, Any]]] = []
    depth = [0]
    saved = {cls: cls.__dict__.get("__init__") for cls in TAGS}

    def wrap(cls: type[nn.Module], init: Callable[..., None]) -> Callable[..., None]:
        def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
            if depth[0] == 0 and type(self) is cls:
                calls.append((cls, args, kwargs))
            depth[0] += 1
            try:
                init(self, *args, **kwargs)
            finally:
                depth[0] -= 1

        return __init__

    for cls in TAGS:
        cls.__init__ = wrap(cls, cls.__init__)  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        for cls, init in saved.items():
            if init is None:
                del cls.__init__
            else:
                cls.__init__ = init  # type: ignore[method-assign]


def _functional(constructor: Any) -> tuple[type[nn.Module], dict[str, Any]] | None:
    """The module and its keywords where a common_nn test wraps a functional (wrap_functional)."""
    forward = getattr(constructor, "forward", None)
    code = getattr(forward, "__code__", None)
    if code is None or code.co_freevars != ("fn", "kwargs"):
        return None
    fn, kwargs = (cell.cell_contents for cell in forward.__closure__)
    module = FUNCTIONAL_MODULES.get(fn)
    if module is None:
        return None
    extra = set(kwargs) - set(inspect.signature(module).parameters)
    if extra:
        raise Unexpressible(f"functional keywords the module lacks ({', '.join(sorted(extra))})")
    return module, dict(kwargs)


def _common_nn_input(test: dict[str, Any]) -> Callable[[], torch.Tensor]:
    def make() -> torch.Tensor:
        if "input_fn" in test:
            value = test["input_fn"]()
        elif "input" in test:
            value = test["input"]
        else:
            value = torch.randn(test["input_size"])
        args = tuple(value) if isinstance(value, tuple | list) else (value,)
        return _single_input(args, {}, nn.Identity)

    return make


def collect_common_nn(out: Collected) -> None:
    """common_nn.module_tests and get_new_module_tests(), for the vocabulary's classes."""
    _, common_nn = pytorch_tables()

    for test in [*common_nn.module_tests, *common_nn.get_new_module_tests()]:
        name = test.get("fullname") or "_".join(
            filter(None, [test.get("module_name"), test.get("desc")])
        )
        make_input = _common_nn_input(test)
        if "module_name" in test:
            cls = getattr(nn, test["module_name"], None)
            if cls not in TAGS:
                continue
            _add(
                out, "common_nn", name, cls, tuple(test.get("constructor_args", ())), {}, make_input
            )
            continue
        try:
            wrapped = _functional(test["constructor"])
        except Unexpressible as why:
            out.skipped[f"common_nn:functional: {why}"] += 1
            continue
        if wrapped is not None:
            cls, kwargs = wrapped
            _add(out, "common_nn:functional", name, cls, (), kwargs, make_input)
            continue
        if isinstance(test["constructor"], type):
            continue  # a wrapped functional with no module of ours, or a class not ours
        with recording_constructors() as calls:
            test["constructor"](*test.get("constructor_args", ()))
        if len(calls) != 1:
            continue  # builds nothing of ours (EmbeddingBag, Fold, ...)
        cls, args, kwargs = calls[0]
        _add(out, "common_nn", name, cls, args, kwargs, make_input)


def _own(spec: dict[str, Any], shape: list[int], desc: str, high: int | None = None) -> Any:
    return (spec, shape, desc, high)


def _act(name: str, **args: Any) -> dict[str, Any]:
    return {"type": "activation", "name": name, **args}


ELEMENTWISE = [
    _act("relu"),
    _act("relu6"),
    _act("leaky_relu", negative_slope=0.2),
    _act("prelu"),
    _act("elu", alpha=0.5),
    _act("celu", alpha=2.0),
    _act("selu"),
    _act("gelu"),
    _act("gelu", approximate="tanh"),
    _act("silu"),
    _act("mish"),
    _act("hardswish"),
    _act("hardsigmoid"),
    _act("hardtanh", min_val=-0.5, max_val=2.0),
    _act("hardshrink", lambd=0.3),
    _act("softshrink", lambd=0.3),
    _act("softplus", beta=2.0, threshold=1.0),
    _act("sigmoid"),
    _act("logsigmoid"),
    _act("tanh"),
    _act("tanhshrink"),
    _act("softsign"),
    _act("threshold", threshold=0.1, value=-2.0),
    {"type": "identity"},
    {"type": "dropout", "p": 0.5},
    {"type": "alphadropout", "p": 0.3},
]
"""Layers that act on each element alone: they take any shape, 0-d and empty ones included."""

OWN_CASES: list[tuple[dict[str, Any], list[int], str, int | None]] = [
    *(_own(spec, [], "scalar") for spec in ELEMENTWISE),
    *(_own(spec, [0, 3], "zero_batch") for spec in ELEMENTWISE),
    *(_own(spec, [2, 3, 4], "3d") for spec in ELEMENTWISE),
    _own({"type": "dropout", "p": 0.0}, [4, 5], "p0"),
    _own({"type": "dropout", "p": 1.0}, [4, 5], "p1"),
    _own({"type": "dropout", "p": 0.2}, [3, 4, 5, 6], "4d"),
    _own({"type": "alphadropout", "p": 0.0}, [4, 5], "p0"),
    _own({"type": "dropout1d", "p": 0.5}, [2, 6, 5], "batched"),
    _own({"type": "dropout1d", "p": 0.4}, [6, 5], "no_batch_dim"),
    _own({"type": "dropout1d"}, [0, 6, 5], "zero_batch"),
    _own({"type": "dropout2d", "p": 0.5}, [2, 6, 3, 4], "batched"),
    _own({"type": "dropout2d", "p": 0.3}, [6, 3, 4], "no_batch_dim"),
    _own({"type": "dropout2d"}, [0, 6, 3, 4], "zero_batch"),
    _own({"type": "dropout3d", "p": 0.5}, [2, 6, 2, 3, 4], "batched"),
    _own({"type": "dropout3d", "p": 0.3}, [6, 2, 3, 4], "no_batch_dim"),
    _own({"type": "dropout3d"}, [0, 6, 2, 3, 4], "zero_batch"),
    _own({"type": "identity"}, [2, 3, 4, 5], "4d"),
    _own({"type": "flatten"}, [0, 3, 4], "zero_batch"),
    _own({"type": "flatten", "start_dim": 0}, [], "scalar"),
    _own({"type": "flatten", "start_dim": 0, "end_dim": -2}, [2, 3, 4], "start0"),
    _own({"type": "unflatten", "dim": 1, "unflattened_size": [2, 3]}, [4, 6], "split"),
    _own({"type": "unflatten", "dim": -1, "unflattened_size": [3, -1]}, [2, 12], "inferred"),
    _own({"type": "unflatten", "dim": 1, "unflattened_size": [2, 3]}, [0, 6], "zero_batch"),
    _own({"type": "unflatten", "dim": 0, "unflattened_size": [2, 2]}, [4], "1d"),
    _own({"type": "upsample", "scale_factor": 2}, [1, 2, 5], "nearest_1d"),
    _own({"type": "upsample", "size": [5, 7]}, [2, 2, 3, 4], "nearest_size_2d"),
    _own({"type": "upsample", "scale_factor": 2, "mode": "nearest"}, [1, 2, 2, 3, 2], "nearest_3d"),
    _own({"type": "upsample", "scale_factor": 1.5, "mode": "nearest-exact"}, [1, 2, 4, 4], "ne"),
    _own({"type": "upsample", "scale_factor": 3, "mode": "linear"}, [2, 3, 4], "linear"),
    _own(
        {"type": "upsample", "size": 7, "mode": "linear", "align_corners": True},
        [2, 3, 4],
        "linear_align_corners",
    ),
    _own({"type": "upsample", "scale_factor": [2, 3], "mode": "bilinear"}, [1, 2, 3, 3], "bil"),
    _own(
        {"type": "upsample", "scale_factor": 2, "mode": "bilinear", "align_corners": True},
        [2, 1, 3, 4],
        "bilinear_align_corners",
    ),
    _own({"type": "upsample", "size": [6, 5], "mode": "bicubic"}, [1, 2, 3, 4], "bicubic"),
    _own(
        {"type": "upsample", "scale_factor": 2, "mode": "trilinear"}, [1, 2, 2, 3, 2], "trilinear"
    ),
    _own(
        {
            "type": "upsample",
            "scale_factor": 1.7,
            "mode": "bilinear",
            "recompute_scale_factor": True,
        },
        [1, 1, 5, 5],
        "recompute_scale_factor",
    ),
    _own({"type": "upsample", "scale_factor": 2, "mode": "bilinear"}, [0, 2, 3, 3], "zero_batch"),
    _own({"type": "upsample", "scale_factor": 2}, [0, 2, 3], "nearest_zero_batch"),
    _own({"type": "upsample", "scale_factor": 2}, [1, 2, 0], "nearest_zero_length"),
    _own({"type": "upsample", "scale_factor": 0.2, "mode": "nearest-exact"}, [1, 2, 3, 3], "to0"),
    _own({"type": "upsample", "size": 4, "mode": "bilinear"}, [1, 0, 3, 3], "zero_channels"),
    _own({"type": "upsample", "size": 4, "mode": "nearest-exact"}, [0, 2, 3, 3], "ne_zero_batch"),
    _own({"type": "pixelshuffle", "upscale_factor": 2}, [2, 8, 3, 3], "batched"),
    _own({"type": "pixelshuffle", "upscale_factor": 2}, [8, 3, 3], "no_batch_dim"),
    _own({"type": "pixelshuffle", "upscale_factor": 2}, [2, 3, 4, 2, 2], "5d"),
    _own({"type": "pixelshuffle", "upscale_factor": 3}, [0, 9, 2, 2], "zero_batch"),
    _own({"type": "pixelunshuffle", "downscale_factor": 2}, [2, 2, 4, 6], "batched"),
    _own({"type": "pixelunshuffle", "downscale_factor": 2}, [3, 4, 4], "no_batch_dim"),
    _own({"type": "pixelunshuffle", "downscale_factor": 3}, [0, 1, 6, 3], "zero_batch"),
    _own({"type": "zeropad1d", "padding": 2}, [2, 3, 4], "batched"),
    _own({"type": "zeropad1d", "padding": [-1, 2]}, [3, 4], "crop"),
    _own({"type": "zeropad1d", "padding": 1}, [0, 3, 4], "zero_batch"),
    _own({"type": "zeropad1d", "padding": [2, -1]}, [2, 2, 2, 3], "4d"),
    _own({"type": "zeropad1d", "padding": 1}, [3], "1d"),
    _own({"type": "zeropad1d", "padding": [-2, 0]}, [1, 2, 2], "crop_to_empty"),
    _own({"type": "zeropad2d", "padding": [1, 0, 2, -1]}, [2, 3, 4, 4], "crop"),
    _own({"type": "zeropad2d", "padding": [0, 0, -3, 0]}, [2, 3, 3], "crop_to_empty"),
    _own({"type": "zeropad2d", "padding": 1}, [3, 2, 2], "no_batch_dim"),
    _own({"type": "zeropad2d", "padding": 1}, [0, 3, 2, 2], "zero_batch"),
    _own({"type": "zeropad2d", "padding": [1, 0, 0, 2]}, [3, 4], "2d"),
    _own({"type": "zeropad3d", "padding": [1, 0, 0, 2, -1, 1]}, [1, 2, 3, 3, 3], "crop"),
    _own({"type": "zeropad3d", "padding": 1}, [2, 2, 2, 2], "no_batch_dim"),
    _own({"type": "zeropad3d", "padding": 1}, [0, 2, 2, 2, 2], "zero_batch"),
    _own({"type": "zeropad3d", "padding": [0, 1, -1, 0, 1, 0]}, [2, 3, 2], "3d"),
    _own({"type": "zeropad3d", "padding": 1}, [2, 1, 2, 2, 2, 2], "6d"),
    _own({"type": "lppool1d", "norm_type": 2, "kernel_size": 3, "stride": 1}, [2, 3, 7], "s1"),
    _own(
        {"type": "lppool1d", "norm_type": 3, "kernel_size": 2, "ceil_mode": True},
        [3, 7],
        "ceil_no_batch_dim",
    ),
    _own({"type": "lppool1d", "norm_type": 2, "kernel_size": 2}, [0, 3, 6], "zero_batch"),
    _own(
        {"type": "lppool2d", "norm_type": 1.5, "kernel_size": [2, 3], "stride": [1, 2]},
        [2, 3, 5, 7],
        "rect",
    ),
    _own(
        {"type": "lppool2d", "norm_type": 2, "kernel_size": 2, "ceil_mode": True},
        [3, 5, 5],
        "ceil_no_batch_dim",
    ),
    _own({"type": "lppool2d", "norm_type": 2, "kernel_size": 2}, [0, 3, 4, 4], "zero_batch"),
    _own({"type": "localresponsenorm", "size": 3}, [2, 6, 5], "3d"),
    _own({"type": "localresponsenorm", "size": 4, "k": 2.0}, [2, 6, 3, 3], "4d"),
    _own({"type": "localresponsenorm", "size": 2}, [0, 4, 3, 3], "zero_batch"),
    _own(
        {"type": "conv2d", "in_channels": 3, "out_channels": 4, "kernel_size": 3}, [3, 6, 6], "nb"
    ),
    _own(
        {"type": "conv2d", "in_channels": 2, "out_channels": 4, "kernel_size": 3, "groups": 2},
        [0, 2, 5, 5],
        "zero_batch_groups",
    ),
    _own(
        {
            "type": "convtranspose2d",
            "in_channels": 2,
            "out_channels": 4,
            "kernel_size": 3,
            "stride": 2,
            "output_padding": 1,
            "groups": 2,
        },
        [2, 4, 4],
        "no_batch_dim_output_padding",
    ),
    _own(
        {"type": "convtranspose1d", "in_channels": 2, "out_channels": 3, "kernel_size": 3},
        [0, 2, 5],
        "zero_batch",
    ),
    _own({"type": "maxpool2d", "kernel_size": 2}, [0, 3, 4, 4], "zero_batch"),
    _own({"type": "maxpool2d", "kernel_size": 2, "ceil_mode": True}, [1, 2, 1, 5], "ceil_short"),
    _own(
        {"type": "avgpool1d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True},
        [2, 1],
        "ceil_short",
    ),
    _own(
        {"type": "lppool2d", "norm_type": 2, "kernel_size": 2, "ceil_mode": True},
        [2, 1, 5],
        "ceil_short",
    ),
    _own(
        {"type": "maxpool1d", "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},
        [3, 9],
        "dilated_no_batch_dim",
    ),
    _own(
        {
            "type": "avgpool2d",
            "kernel_size": 3,
            "stride": 2,
            "padding": 1,
            "ceil_mode": True,
            "count_include_pad": False,
        },
        [2, 3, 6, 6],
        "ceil_no_pad_count",
    ),
    _own({"type": "adaptiveavgpool2d", "output_size": [2, None]}, [0, 3, 4, 4], "zero_batch"),
    _own({"type": "adaptiveavgpool2d", "output_size": 1}, [1, 3, 5, 0], "mean_of_empty"),
    _own({"type": "adaptiveavgpool3d", "output_size": [1, None, 1]}, [2, 0, 1, 0], "mean_nb"),
    _own({"type": "adaptiveavgpool2d", "output_size": 1}, [2, 3, 2, 4, 5], "mean_5d"),
    _own({"type": "adaptiveavgpool2d", "output_size": 1}, [4, 5], "mean_2d"),
    _own({"type": "adaptiveavgpool2d", "output_size": [1, 1]}, [4, 5], "mean_2d_list"),
    _own({"type": "adaptiveavgpool3d", "output_size": 1}, [3, 4, 5], "mean_3d"),
    _own({"type": "adaptivemaxpool1d", "output_size": 2}, [1, 0, 3], "zero_channels"),
    _own({"type": "adaptivemaxpool1d", "output_size": 4}, [2, 3, 10], "uneven"),
    _own({"type": "batchnorm1d", "num_features": 3, "momentum": None}, [4, 3], "2d"),
    _own({"type": "batchnorm1d", "num_features": 3}, [1, 3], "one_value_per_channel"),
    _own({"type": "instancenorm1d", "num_features": 3}, [2, 3, 1], "one_spatial_element"),
    _own({"type": "batchnorm2d", "num_features": 3, "affine": False}, [0, 3, 2, 2], "zero_batch"),
    _own({"type": "batchnorm2d", "num_features": 2}, [0, 5, 2, 2], "empty_other_channels"),
    _own(
        {"type": "batchnorm2d", "num_features": 2, "affine": False, "track_running_stats": False},
        [2, 3, 2, 2],
        "unsized_other_channels",
    ),
    _own(
        {"type": "instancenorm3d", "num_features": 2, "track_running_stats": True},
        [0, 3, 2, 2, 2],
        "empty_other_channels",
    ),
    _own({"type": "instancenorm1d", "num_features": 3, "affine": True}, [0, 3, 4], "zero_batch"),
    _own({"type": "groupnorm", "num_groups": 2, "num_channels": 4}, [0, 4, 3], "zero_batch"),
    _own(
        {"type": "groupnorm", "num_groups": 2, "num_channels": 6, "affine": False},
        [2, 4, 3],
        "unsized_other_channels",
    ),
    _own({"type": "layernorm", "normalized_shape": [3, 4]}, [3, 4], "no_batch_dim"),
    _own({"type": "linear", "in_features": 3, "out_features": 2}, [0, 3], "zero_batch"),
    _own({"type": "linear", "in_features": 3, "out_features": 2}, [2, 0, 3], "zero_middle"),
    _own({"type": "embedding", "num_embeddings": 5, "embedding_dim": 3}, [], "scalar", 5),
    _own({"type": "embedding", "num_embeddings": 5, "embedding_dim": 3}, [0, 4], "zero_batch", 5),
    _own(
        {"type": "embedding", "num_embeddings": 6, "embedding_dim": 4, "padding_idx": 2},
        [3, 5],
        "padding_idx",
        6,
    ),
    _own(
        {"type": "embedding", "num_embeddings": 6, "embedding_dim": 4, "max_norm": 0.5},
        [3, 5],
        "max_norm",
        6,
    ),
    _own(
        {"type": "embedding", "num_embeddings": 6, "embedding_dim": 4, "scale_grad_by_freq": True},
        [3, 5],
        "scale_grad_by_freq",
        6,
    ),
    _own(_act("glu", dim=0), [4, 3], "dim0"),
    _own(_act("glu"), [0, 4], "zero_batch"),
    _own(_act("softmax"), [0, 5], "zero_batch"),
    _own(_act("log_softmax"), [], "scalar"),
    _own(_act("softmin", dim=-1), [], "scalar_last"),
    _own(_act("prelu", num_parameters=3), [3], "1d_multiparam"),
    _own(_act("prelu", num_parameters=3), [3, 4], "channels_at_dim1"),
    _own(_act("prelu", num_parameters=3), [0, 3, 4], "zero_batch_multiparam"),
]
"""(raw spec, input shape, description, `high` for integer indices)."""


def collect_own(out: Collected) -> None:
    """OWN_CASES, built from the raw spec with tests.direct's class lookup."""
    from tests.direct import torch_class

    generator = torch.Generator().manual_seed(0)
    for spec, shape, desc, high in OWN_CASES:
        cls = torch_class(spec)
        args = {k: v for k, v in spec.items() if k not in {"type", "name"}}
        if cls in {nn.Softmax, nn.LogSoftmax, nn.Softmin}:
            args.setdefault("dim", -1)  # the API's default; PyTorch's is implicit
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        if high is None:
            tensor = torch.randn(shape, dtype=torch.float64, generator=generator)
        else:
            tensor = torch.randint(0, high, shape, generator=generator)
        tag = TAGS[cls]
        name = f"{tag.split(':')[-1]}.{desc}"
        out.cases.append(ModuleCase("own", name, cls, kwargs, spec, tensor))


@functools.cache
def collect() -> Collected:
    """Every case from every source, with the same values on every call (seeded, leaving the
    global RNG as it was)."""
    out = Collected()
    with torch.random.fork_rng():
        torch.manual_seed(0)
        collect_module_db(out)
        collect_common_nn(out)
        collect_own(out)
    named: Counter[str] = Counter()
    for index, case in enumerate(out.cases):
        named[case.name] += 1
        if named[case.name] > 1:  # PyTorch's tables repeat some names: number the repeats
            out.cases[index] = replace(case, name=f"{case.name}#{named[case.name]}")
    return out


def activation_tags() -> set[str]:
    """Every activation tag (`activation:relu`, ...)."""
    return {type_name(spec) for spec in ALL_SPECS if issubclass(spec, ActivationSpecBase)}
