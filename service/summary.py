"""The table of a pipeline, from specs alone: shapes, parameters, FLOPs and bytes on meta.

`plan_model` walks the layers on PyTorch's meta device one at a time, so a layer that does not
fit its input is named by index before anything is allocated, and the FLOPs of each layer are
counted on the way. The same plan gives the `summary` and `layers` table of both
/v1/models/summary and /v1/models/inspect, and the torchinfo-style text table.
"""

from dataclasses import dataclass
from typing import Any

from torch import nn

from schemas.layers import Conv2dSpec, LayerSpec, MaxPool2dSpec, pair
from schemas.models import ModelSummaryRequest
from service.codec import check_elements, numel
from service.errors import ProblemError, field_error
from service.flops import forward_flops
from service.layers import build_layer, build_on_meta, layer_label, parameter_counts
from service.shapes import fit

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


def build_model(specs: list[LayerSpec]) -> nn.Sequential:
    """Construct the pipeline as PyTorch would: `nn.Sequential(layer_0, layer_1, ...)`."""
    return nn.Sequential(*(build_layer(spec) for spec in specs))


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
        warnings += dropped_edges(layer)
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


def dropped_edges(layer: LayerPlan) -> list[str]:
    """Warn where a conv or pool's last window stops short of the padded input's end.

    With floor rounding (PyTorch's default) that happens exactly when
    (in + 2*padding - dilation*(kernel-1) - 1) is not divisible by the stride: the remainder
    rows (bottom) or columns (right) are never seen. A pool with `ceil_mode=True` adds a last,
    partial window instead, so it warns only where PyTorch still leaves rows out (a window that
    would start in the right padding is dropped). Measured from the actual output size, so both
    cases are exact.
    """
    spec = layer.spec
    if not isinstance(spec, Conv2dSpec | MaxPool2dSpec):
        return []
    if isinstance(spec, Conv2dSpec) and spec.padding == "same":
        return []
    kernel, dilation = pair(spec.kernel_size), pair(spec.dilation)
    stride = pair(spec.kernel_size if spec.stride is None else spec.stride)
    padding = (0, 0) if isinstance(spec.padding, str) else pair(spec.padding)
    found = []
    for axis, (edge, extent) in enumerate((("row", "height"), ("column", "width"))):
        size = layer.input_shape[axis - 2]
        out = layer.output_shape[axis - 2]
        covered = (out - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1
        unused = size + 2 * padding[axis] - covered
        if unused <= 0:
            continue
        data = max(0, unused - padding[axis])
        span = size + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
        side = "bottom" if axis == 0 else "right"
        lost = (
            f"the last {data} {edge}(s) of the input are never seen"
            if data
            else f"{unused} {edge}(s) of trailing padding go unused (no input values are lost)"
        )
        good = (size - unused, size + stride[axis] - unused)
        pool_fix = ", or set ceil_mode=True" if isinstance(spec, MaxPool2dSpec) else ""
        formula = f"({size} + 2*{padding[axis]} - {dilation[axis]}*({kernel[axis]}-1) - 1) = {span}"
        found.append(
            f"{who(layer.index, spec)} drops {side} {edge}s: {formula} is not divisible by "
            f"stride {stride[axis]}, so {lost}; use an input {extent} of {good[0]} or "
            f"{good[1]}{pool_fix}"
        )
    return found


def summarize_model(request: ModelSummaryRequest, max_layers: int) -> dict[str, Any]:
    """The body of /v1/models/summary: the table of the pipeline, computed on meta."""
    return plan_model(request.layers, request.input_shape, MAX_META_ELEMENTS, max_layers).table()


def wants_text(format_: str | None, accept: str | None) -> bool:
    """Decide text or JSON: `format` wins; else text when Accept prefers text/plain to JSON."""
    if format_ is not None:
        return format_ == "text"
    best: dict[str, float] = {}
    for part in (accept or "").split(","):
        media, *params = (piece.strip() for piece in part.split(";"))
        quality = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        best[media.lower()] = max(best.get(media.lower(), 0.0), quality)
    text = best.get("text/plain", 0.0)
    json = max(best.get("application/json", 0.0), best.get("*/*", 0.0) * 0.99)
    return text > 0 and text >= json


def _shape(shape: list[int]) -> str:
    return str(list(shape))


def _megabytes(count: int) -> str:
    return f"{count / 1e6:0.2f}"


def render_text(table: dict[str, Any]) -> str:
    """A torchinfo-style text table of a pipeline's `table()`."""
    summary, rows = table["summary"], table["layers"]
    name_width, col = 40, 25
    classes = [row["repr"].split("(", 1)[0] for row in rows]
    names = [f"├─{cls}: 1-{row['index'] + 1}" for cls, row in zip(classes, rows, strict=True)]
    name_width = max(name_width, *(len(n) + 1 for n in names))
    width = name_width + 4 * col
    divider = "=" * width

    def line(name: str, *cells: str) -> str:
        return (f"{name:<{name_width}} " + " ".join(f"{c:<{col}}" for c in cells)).rstrip()

    def count(n: int) -> str:
        return f"{n:,}" if n else "--"

    out = [
        divider,
        line("Layer (type:depth-idx)", "Input Shape", "Output Shape", "Param #", "FLOPs"),
        divider,
        line(
            "Sequential",
            _shape(summary["input_shape"]),
            _shape(summary["output_shape"]),
            "--",
            "--",
        ),
    ]
    for name, row in zip(names, rows, strict=True):
        out.append(
            line(
                name,
                _shape(row["input_shape"]),
                _shape(row["output_shape"]),
                count(row["parameter_count"]),
                count(row["flops"]),
            )
        )
    total, trainable = summary["parameter_count"], summary["trainable_parameter_count"]
    out += [
        divider,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        f"Total FLOPs (forward, multiply-add = 2): {summary['flops']:,}",
        divider,
        f"Input size (MB): {_megabytes(summary['input_bytes'])}",
        f"Forward/backward pass size (MB): {_megabytes(summary['forward_backward_bytes'])}",
        f"Params size (MB): {_megabytes(summary['parameter_bytes'])}",
        f"Estimated Total Size (MB): {_megabytes(summary['total_bytes'])}",
        divider,
    ]
    out += [f"Warning: {warning}" for warning in table["warnings"]]
    return "\n".join(out) + "\n"
