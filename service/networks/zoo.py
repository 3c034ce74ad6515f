"""The torchvision classification architectures layerscope builds, by name, with random weights.

Every name `torchvision.models.list_models(module=torchvision.models)` lists is served (no
weights are ever downloaded: `weights=None`). A request may pass the architecture class's
constructor keywords that take numbers, booleans or strings (`num_classes`, `dropout`,
`aux_logits`, ...), checked by name and type; nothing from a request is imported, evaluated or
used as a path. Models are built on the meta device for planning (shapes, counts, FLOPs with no
memory) and for real only after the limits are checked.
"""

import difflib
import inspect
import json
import threading
import types
import typing
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from typing import Any
from unittest import mock

import torch
import torchvision
from torch import nn
from torchvision.models import get_model_builder, get_model_weights, list_models, regnet

from service.errors import unprocessable

SIMPLE_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string"}
"""Keyword types a request may set, with their JSON names."""


@dataclass(frozen=True)
class Keyword:
    """One constructor keyword a request may set."""

    name: str
    kind: type
    default: Any
    """The class's default; None where the class requires it (the builder passes its own)."""


@dataclass(frozen=True)
class Architecture:
    """A torchvision architecture as layerscope serves it."""

    name: str
    class_name: str
    keywords: dict[str, Keyword]
    input_size: list[int]
    """[1, 3, S, S]: the size of the default weights' preprocessing (the model's own where it
    fixes one, as ViT does)."""
    min_size: list[int]
    """The smallest [H, W] torchvision documents for it."""
    parameter_count: int
    """Of the model built with weights=None and default keywords."""


def names() -> list[str]:
    """Every classification architecture torchvision has, sorted."""
    return sorted(list_models(module=torchvision.models))


@contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Move each parameter and buffer to meta as it is registered (for builders that compute
    their layout with tensors, which the meta device context would turn into meta tensors)."""
    register_parameter = nn.Module.register_parameter
    register_buffer = nn.Module.register_buffer

    def parameter(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None:
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        register_parameter(module, name, param)

    def buffer(
        module: nn.Module, name: str, tensor: torch.Tensor | None, persistent: bool = True
    ) -> None:
        register_buffer(module, name, None if tensor is None else tensor.to("meta"), persistent)

    nn.Module.register_parameter = parameter  # type: ignore[method-assign,assignment]
    nn.Module.register_buffer = buffer  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        nn.Module.register_parameter = register_parameter  # type: ignore[method-assign]
        nn.Module.register_buffer = register_buffer  # type: ignore[method-assign]


@contextmanager
def _regnet_widths_on_cpu() -> Iterator[None]:
    """Compute RegNet's stage widths (tensor arithmetic on a few dozen numbers, then
    `.tolist()`) on the CPU inside a meta device context, so that the model itself is built on
    meta without a byte of parameter memory."""
    original = regnet.BlockParams.from_init_params.__func__

    def on_cpu(cls: type, *args: Any, **kwargs: Any) -> Any:
        with torch.device("cpu"):
            return original(cls, *args, **kwargs)

    with mock.patch.object(regnet.BlockParams, "from_init_params", classmethod(on_cpu)):
        yield


_REGISTRATION_LOCK = threading.Lock()


def build(name: str, kwargs: dict[str, Any], *, meta: bool) -> nn.Module:
    """`torchvision.models.get_model_builder(name)(weights=None, **kwargs)`, on meta or for
    real (on the CPU, with the current RNG). Raises as torchvision does."""
    builder: Callable[..., nn.Module] = get_model_builder(name)
    if not meta:
        return builder(weights=None, **kwargs)
    try:
        with torch.device("meta"):
            return builder(weights=None, **kwargs)
    except NotImplementedError:  # RegNet computes its widths with tensors
        pass
    with _REGISTRATION_LOCK:
        try:
            with torch.device("meta"), _regnet_widths_on_cpu():
                return builder(weights=None, **kwargs)
        except NotImplementedError:  # another builder that computes with tensors
            with _parameters_on_meta():
                return builder(weights=None, **kwargs)


def _simple(annotation: Any) -> type | None:
    """int, float, bool or str, also inside Optional[...]; None for anything else."""
    if annotation in SIMPLE_TYPES:
        return typing.cast(type, annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        inner = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(inner) == 1 and inner[0] in SIMPLE_TYPES:
            return typing.cast(type, inner[0])
    return None


def keywords_of(cls: type[nn.Module]) -> dict[str, Keyword]:
    """The constructor keywords of an architecture class that take numbers, booleans or
    strings (from its signature and type hints; a default of such a type counts too)."""
    signature = inspect.signature(cls.__init__)
    try:
        hints = typing.get_type_hints(cls.__init__)
    except Exception:  # a hint torchvision cannot resolve: read the defaults only
        hints = {}
    found: dict[str, Keyword] = {}
    for name, param in signature.parameters.items():
        if name == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        default = None if param.default is inspect.Parameter.empty else param.default
        kind = _simple(hints.get(name))
        if kind is None and type(default) in SIMPLE_TYPES:
            kind = type(default)
        if kind is not None:
            found[name] = Keyword(name, kind, default)
    return found


@cache
def architecture(name: str) -> Architecture:
    """An architecture's facts, from one build on meta and torchvision's weight metadata."""
    model = build(name, {}, meta=True)
    weights = get_model_weights(name).DEFAULT
    crop = getattr(weights.transforms(), "crop_size", [224])[0]
    side = int(getattr(model, "image_size", crop))
    min_h, min_w = weights.meta.get("min_size", (1, 1))
    return Architecture(
        name=name,
        class_name=type(model).__name__,
        keywords=keywords_of(type(model)),
        input_size=[1, 3, side, side],
        min_size=[max(min_h, 1), max(min_w, 1)],
        parameter_count=sum(p.numel() for p in model.parameters()),
    )


def check_name(name: str, field: str) -> Architecture:
    """The architecture `name` names; 422 with the closest names when there is none."""
    known = names()
    if name in known:
        return architecture(name)
    close = difflib.get_close_matches(name, known, n=3)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise unprocessable(
        "unknown-architecture",
        field,
        f"torchvision has no classification architecture {name!r}",
        f"{hint}GET /v1/models lists the {len(known)} there are",
        context={"known": known},
    )


def check_kwargs(arch: Architecture, kwargs: dict[str, Any], field: str) -> dict[str, Any]:
    """Keep only keywords the architecture's class takes, each of its type (a bool is not an
    int); 422 naming the first that is not."""
    for key, value in kwargs.items():
        keyword = arch.keywords.get(key)
        if keyword is None:
            allowed = ", ".join(sorted(arch.keywords)) or "none"
            raise unprocessable(
                "unknown-keyword",
                f"{field}.{key}",
                f"{arch.name} ({arch.class_name}) takes no keyword {key!r} that a request may set",
                f"use one of: {allowed}",
                context={"allowed": sorted(arch.keywords)},
            )
        ok = isinstance(value, keyword.kind) and not (
            keyword.kind is not bool and isinstance(value, bool)
        )
        if keyword.kind is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            kind = SIMPLE_TYPES[keyword.kind]
            article = "an" if kind[0] in "aeiou" else "a"
            raise unprocessable(
                "invalid-keyword",
                f"{field}.{key}",
                f"{key} of {arch.name} takes {article} {kind}, not {json.dumps(value)}",
                f"send {article} {kind}",
            )
    return dict(kwargs)
