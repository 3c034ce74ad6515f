"""The table of a pipeline, from specs alone: shapes, parameters, FLOPs and bytes on meta.

`plan_model` walks the layers on PyTorch's meta device one at a time, so a layer that does not
fit its input is named by index before anything is allocated, and the FLOPs of each layer are
counted on the way. The same plan gives the `summary` and `layers` table of both
/v1/models/summary and /v1/models/inspect, and the torchinfo-style text table.
"""

from dataclasses import dataclass
from typing import Any

from torch import nn

from schemas.layer_specs import LayerSpec
from service.building.layer_builder import build_on_meta, layer_label, parameter_counts
from service.errors import ProblemError, field_error
from service.planning.edge_warnings import dropped_edges
from service.planning.fit import fit
from service.planning.flops import forward_flops
from service.planning.limits import check_elements, numel

FLOAT_BYTES = 4
"""Every tensor the service computes on is float32."""

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
            "output_bytes": numel(self.output_shape) * FLOAT_BYTES,
            "flops": self.flops,
        }


@dataclass
class ModelPlan:
    """A whole pipeline, planned on meta."""

    input_shape: list[int]
    layers: list[LayerPlan]
    warnings: list[str]

    @property
    def output_shape(self) -> list[int]:
        """The shape the last layer gives."""
        return self.layers[-1].output_shape

    def meta_model(self) -> nn.Sequential:
        """The layers' meta modules as one `nn.Sequential` (state_dict names `0.weight`, ...)."""
        return nn.Sequential(*(layer.meta for layer in self.layers))

    def named_shapes(self) -> dict[str, list[int]]:
        """Every tensor a run holds: input, each layer's output, each parameter."""
        shapes = {"body.input": self.input_shape}
        for layer in self.layers:
            shapes[f"layers.{layer.index}.output"] = layer.output_shape
            for name, p in layer.meta.named_parameters():
                shapes[f"parameters.{layer.index}.{name}"] = list(p.shape)
        return shapes

    def table(self) -> dict[str, Any]:
        """The `summary`, `layers` and `warnings` of a response."""
        rows = [layer.row() for layer in self.layers]
        flops = sum(row["flops"] for row in rows)
        input_bytes = numel(self.input_shape) * FLOAT_BYTES
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
    specs: list[LayerSpec], input_shape: list[int], max_elements: int, max_layers: int
) -> ModelPlan:
    """Walk the layers on meta: each layer's output shape and FLOPs, and warnings.

    Raises a 422 naming the first layer that does not fit what it receives (index, spec,
    received shape, what it expects, the fix), and a 413 when any tensor would hold more than
    `max_elements` elements. Allocates nothing.
    """
    check_elements("body.input", input_shape, max_elements)
    shape = list(input_shape)
    check_layer_count(specs, max_layers)
    layers: list[LayerPlan] = []
    warnings: list[str] = []
    for index, spec in enumerate(specs):
        meta = build_on_meta(spec)
        out = fit(spec, meta, shape, who(index, spec), f"body.layers.{index}")
        check_elements(f"layers.{index}.output ({layer_label(spec)})", out, max_elements)
        layer = LayerPlan(index, spec, meta, shape, out, forward_flops(meta, shape))
        layers.append(layer)
        warnings += dropped_edges(spec, shape, out, who(index, spec))
        shape = out
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
    return ModelPlan(list(input_shape), layers, warnings)
