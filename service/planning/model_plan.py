"""The table of a pipeline, from specs alone: shapes, parameters, FLOPs and bytes on meta.

`plan_model` walks the layers on PyTorch's meta device one at a time, so a layer that does not
fit its input is named by index before anything is allocated, and the FLOPs of each layer are
counted on the way. The same plan gives the `summary` and `layers` table of both
/v1/models/summary and /v1/models/inspect, and the torchinfo-style text table.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from schemas.layer_specs import LayerSpec
from service.building.layer_builder import build_on_meta, layer_label, parameter_counts
from service.building.module_cache import meta_module
from service.errors import ProblemError, field_error
from service.planning.edge_warnings import dropped_edges
from service.planning.fit import Received, fit
from service.planning.limits import check_elements, numel

MAX_META_ELEMENTS = 1 << 40
"""Most elements of any one tensor in a summary (nothing is allocated; this keeps counts sane)."""

MAX_FLOPS = (1 << 63) - 1


@dataclass
class LayerPlan:
    """One layer, planned: its spec, its meta module, and what flows through it."""

    index: int
    spec: LayerSpec
    meta: nn.Module
    input_shape: list[int]
    output_shape: list[int]
    flops: int
    output_dtype: torch.dtype = torch.float32

    def row(self) -> dict[str, Any]:
        """The layer's entry of the table."""
        total, trainable = parameter_counts(self.meta)
        return {
            "index": self.index,
            "name": str(self.index),
            "type": layer_label(self.spec),
            "repr": repr(self.meta),
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "parameter_count": total,
            "trainable_parameter_count": trainable,
            "parameter_bytes": parameter_bytes(self.meta),
            "output_bytes": numel(self.output_shape) * self.output_dtype.itemsize,
            "flops": self.flops,
        }


@dataclass
class ModelPlan:
    """A whole pipeline, planned on meta."""

    input_shape: list[int]
    layers: list[LayerPlan]
    warnings: list[str]
    input_dtype: torch.dtype = torch.float32

    @property
    def output_shape(self) -> list[int]:
        """The shape the last layer gives."""
        return self.layers[-1].output_shape

    def meta_model(self) -> nn.Sequential:
        """The layers' meta modules as one `nn.Sequential` (state_dict names `0.weight`, ...)."""
        return nn.Sequential(*(layer.meta for layer in self.layers))

    def named_shapes(self) -> dict[str, list[int]]:
        """Every tensor a run holds: input, each layer's output, each parameter and buffer."""
        shapes = {"body.input": self.input_shape}
        for layer in self.layers:
            shapes[f"layers.{layer.index}.output"] = layer.output_shape
            for name, t in layer.meta.state_dict().items():
                shapes[f"state.{layer.index}.{name}"] = list(t.shape)
        return shapes

    def table(self) -> dict[str, Any]:
        """The `summary`, `layers` and `warnings` of a response."""
        rows = [layer.row() for layer in self.layers]
        flops = sum(row["flops"] for row in rows)
        input_bytes = numel(self.input_shape) * self.input_dtype.itemsize
        param_bytes = sum(row["parameter_bytes"] for row in rows)
        pass_bytes = sum(2 * row["output_bytes"] for row in rows if row["parameter_count"] > 0)
        summary = {
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "parameter_count": sum(row["parameter_count"] for row in rows),
            "trainable_parameter_count": sum(row["trainable_parameter_count"] for row in rows),
            "parameter_bytes": param_bytes,
            "flops": flops,
            "input_bytes": input_bytes,
            "forward_backward_bytes": pass_bytes,
            "total_bytes": input_bytes + pass_bytes + param_bytes,
        }
        return {"summary": summary, "layers": rows, "warnings": self.warnings}


def parameter_bytes(module: nn.Module) -> int:
    """Bytes of a module's parameters (elements times element size, as torchinfo counts)."""
    return sum(p.numel() * p.element_size() for p in module.parameters())


def who(index: int, spec: LayerSpec) -> str:
    """Name a layer in messages: 'layer 4 (linear)'."""
    return f"layer {index} ({layer_label(spec)})"


Naming = Callable[[int, LayerSpec], tuple[str, str, str]]
"""How messages name layer `index`: (who, its request field, its output)."""


def pipeline_naming(index: int, spec: LayerSpec) -> tuple[str, str, str]:
    """A pipeline's layer: 'layer 4 (linear)' at `body.layers.4`, output `layers.4.output`."""
    return who(index, spec), f"body.layers.{index}", f"layers.{index}.output ({layer_label(spec)})"


def single_naming(index: int, spec: LayerSpec) -> tuple[str, str, str]:
    """The one layer of /v1/layers: 'linear' at `body.layer`, its `output`."""
    return layer_label(spec), "body.layer", "output"


def planned_meta(spec: LayerSpec, dtype: torch.dtype, training: bool) -> nn.Module:
    """The layer built on meta in `dtype` and mode (cached: callers only read and run it)."""

    def build() -> nn.Module:
        return build_on_meta(spec).to(dtype).train(training)

    key = f"{spec.model_dump_json()}|{dtype}|{'train' if training else 'eval'}"
    return meta_module(key, build)


def _fit_uncounted(
    spec: LayerSpec, meta: nn.Module, received: Received, name: str, at: str
) -> torch.Tensor:
    """`fit` without counting FLOPs (FlopCounterMode took ~0.18 ms of a small layer's plan).
    Where the plain meta kernel refuses, the walk is retried under FlopCounterMode, whose
    decompositions take some inputs the kernels do not (nn.Upsample on an empty batch), so the
    plan is the one counting would give, refusal or not."""
    try:
        return fit(spec, meta, received, name, at)
    except ProblemError:
        with FlopCounterMode(display=False):
            return fit(spec, meta, received, name, at)


def check_layer_count(specs: list[LayerSpec], max_layers: int) -> None:
    """Refuse (422) a pipeline longer than the service's limit, naming the limit."""
    if len(specs) > max_layers:
        raise ProblemError(
            422,
            "too-many-layers",
            f"the pipeline has {len(specs)} layers, more than the {max_layers} this service "
            "runs; send at most that many",
            title="Pipeline too long",
            errors=[
                field_error(
                    "body.layers", f"{len(specs)} layers", f"send at most {max_layers} layers"
                )
            ],
            context={"layers": len(specs), "limit": max_layers},
            limit="layers",
        )


def plan_model(
    specs: list[LayerSpec],
    received: Received,
    max_elements: int,
    max_layers: int,
    *,
    dtype: torch.dtype = torch.float32,
    naming: Naming = pipeline_naming,
    count_flops: bool = True,
) -> ModelPlan:
    """Walk the layers on meta in `dtype` and mode: each layer's output shape and dtype, FLOPs
    (FlopCounterMode, on the same meta forward; 0 without `count_flops`, for callers that
    report none: a single layer's inspection, or a pipeline whose table comes from its module
    tree), and warnings.

    Raises a 422 naming the first layer that does not fit what it receives (index, spec,
    received shape, what it expects, the fix), and a 413 when any tensor would hold more than
    `max_elements` elements. Allocates nothing.
    """
    check_elements("body.input", received.shape, max_elements)
    check_layer_count(specs, max_layers)
    layers: list[LayerPlan] = []
    warnings: list[str] = []
    current = received
    for index, spec in enumerate(specs):
        meta = planned_meta(spec, dtype, received.training)
        name, at, output = naming(index, spec)
        if count_flops:
            counter = FlopCounterMode(display=False)
            with counter:
                out = fit(spec, meta, current, name, at)
            flops = int(counter.get_total_flops())
        else:
            out, flops = _fit_uncounted(spec, meta, current, name, at), 0
        shape = list(out.shape)
        check_elements(output, shape, max_elements)
        layers.append(LayerPlan(index, spec, meta, current.shape, shape, flops, out.dtype))
        warnings += dropped_edges(spec, current.shape, shape, name)
        current = Received(shape, out.dtype, received.training)
    total_flops = sum(layer.flops for layer in layers)
    if total_flops > MAX_FLOPS:
        raise ProblemError(
            413,
            "too-many-flops",
            f"this model would take {total_flops:,} FLOPs, more than can be counted in 64 bits; "
            "use smaller shapes",
            title="Model too large",
            context={"flops": str(total_flops)},
        )
    return ModelPlan(list(received.shape), layers, warnings, received.dtype)
