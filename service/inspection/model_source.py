"""Where a model request's model comes from: a pipeline of layer specs, or a torchvision
architecture by name. Either way the same things come out: a fresh model on meta (in the run's
dtype and mode) to plan with, how to build the real one, and facts about its modules."""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import torch
from torch import nn

from schemas.layer_specs import ALL_SPECS, LayerSpec
from schemas.models import TorchvisionModel
from service.building.layer_builder import build_model, build_on_meta
from service.building.safetensors_state import state_from_safetensors
from service.building.weights import materialize
from service.errors import unprocessable
from service.networks import zoo
from service.planning.dtypes import DTypes
from service.planning.fit import Received
from service.planning.model_plan import check_layer_count, pipeline_naming, plan_model
from service.planning.smallest_input import smallest_square
from service.settings import Settings

_SET_BY_BUILDER = re.compile(r"multiple values for keyword argument '(\w+)'")
"""torchvision's builders pass some class keywords themselves (vit_b_16's patch_size)."""

SPATIAL_DIMS: dict[str, int | None] = {spec.TORCH_CLASS: spec.SPATIAL_DIMS for spec in ALL_SPECS}
"""torch.nn class name -> how many spatial dimensions it slides over (for pictures)."""


@dataclass
class Source:
    """A model to plan and build: its meta twin, its real constructor, what to call it."""

    meta: nn.Module
    make: Callable[[], nn.Module]
    request_field: str
    """The request field that names the model, for errors."""
    cache_key: str | None = None
    """What the real model is built from (a pipeline's specs, an architecture's name and
    keywords): seeded models are cached as templates under it, within the cache's budget."""
    smallest: Callable[[], list[int] | None] | None = None
    warnings: list[str] = field(default_factory=list)

    def spatial_dims(self, name: str) -> int | None:
        """The spatial dimensions of the module `name` (`""`: the model), for its pictures."""
        module = self.meta.get_submodule(name)
        if name == "":
            first = next(iter(module.children()), None)
            module = first if first is not None else module
        return SPATIAL_DIMS.get(type(module).__name__)


def pipeline_source(
    specs: list[LayerSpec], received: Received, dtype: torch.dtype, settings: Settings
) -> Source:
    """A pipeline: each layer checked against what it receives (teaching 422s, warnings), then
    a fresh `nn.Sequential` on meta."""
    check_layer_count(specs, settings.max_layers)
    walked = plan_model(
        specs,
        received,
        settings.max_tensor_elements,
        settings.max_layers,
        dtype=dtype,
        naming=pipeline_naming,
        count_flops=False,  # the table's FLOPs come from the module tree's walk
    )
    meta = nn.Sequential(*(build_on_meta(spec) for spec in specs)).to(dtype)
    key = json.dumps([spec.model_dump(mode="json") for spec in specs], sort_keys=True)
    return Source(meta, partial(build_model, specs), "body.layers", key, warnings=walked.warnings)


def architecture_source(spec: TorchvisionModel, received: Received, dtype: torch.dtype) -> Source:
    """A torchvision architecture with random weights, built on meta with the request's
    keywords (422 naming the keyword torchvision refuses)."""
    arch = zoo.check_name(spec.torchvision, "body.model.torchvision")
    kwargs = zoo.check_kwargs(arch, spec.kwargs, "body.model.kwargs")
    try:
        meta = zoo.build(arch.name, kwargs, meta=True).to(dtype)
    except (TypeError, ValueError, RuntimeError, AssertionError, KeyError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        fixed = _SET_BY_BUILDER.search(reason)
        raise unprocessable(
            "invalid-keyword",
            f"body.model.kwargs.{fixed.group(1)}" if fixed else "body.model.kwargs",
            f"torchvision cannot build {arch.name} with {kwargs} ({reason})",
            f"leave out {fixed.group(1)}: the {arch.name} builder sets it itself"
            if fixed
            else "change the keywords: GET /v1/models lists each one with its default",
            context={"torch": reason},
        ) from exc

    def meta_build() -> nn.Module:
        return zoo.build(arch.name, kwargs, meta=True).to(dtype)

    return Source(
        meta,
        partial(zoo.build, arch.name, kwargs, meta=False),
        "body.model",
        cache_key=f"torchvision:{arch.name}:{json.dumps(kwargs, sort_keys=True)}",
        smallest=partial(smallest_square, meta_build, received, arch.min_size),
    )


def build_source(
    source: Source,
    weights: Any,
    weights_file: bytes | None,
    dtypes: DTypes,
    settings: Settings,
) -> tuple[nn.Module, int | None]:
    """The real model of `source` (on CPU) and the weight seed used, if any: from an uploaded
    safetensors file when one came (checked against the meta model's state), else from the
    request's `weights` (a seed or explicit state)."""
    if weights_file is not None:
        weights = state_from_safetensors(
            weights_file,
            source.meta.state_dict(),
            dtypes,
            settings.max_safetensors_header_bytes,
        )
    return materialize(
        source.make,
        source.meta,
        weights,
        "body.weights.state",
        settings.max_tensor_elements,
        cache_key=source.cache_key,
        dtypes=dtypes,
    )
