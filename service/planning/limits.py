"""The element limits of a run, checked from shapes alone before anything is allocated: elements
per tensor and elements in all (the response's bytes: service.planning.response_size)."""

import math

import torch

from service.errors import ProblemError, field_error
from service.settings import Settings

TENSOR_SETTING = "LAYERSCOPE_MAX_TENSOR_ELEMENTS"
"""The setting every per-tensor element limit comes from (callers pass its value)."""


def numel(shape: list[int] | tuple[int, ...] | torch.Size) -> int:
    """Return the number of elements of a tensor of `shape`."""
    return math.prod(shape)


def check_elements(name: str, shape: list[int] | tuple[int, ...], limit: int) -> None:
    """Raise 413 when a tensor of `shape` would hold more than `limit` elements (the value of
    LAYERSCOPE_MAX_TENSOR_ELEMENTS, which the problem names)."""
    count = numel(shape)
    if count > limit:
        raise ProblemError(
            413,
            "too-many-elements",
            f"{name} of shape {list(shape)} would hold {count:,} elements, over the limit of "
            f"{limit:,} ({TENSOR_SETTING}); use a smaller shape, or raise that setting",
            title="Tensor too large",
            errors=[
                field_error(name, f"{count:,} elements", "use a smaller shape", "too_many_elements")
            ],
            context={
                "tensor": name,
                "shape": list(shape),
                "elements": count,
                "limit": limit,
                "setting": TENSOR_SETTING,
            },
            limit="elements",
        )


def check_totals(named_shapes: dict[str, list[int]], *, backward: bool, settings: Settings) -> None:
    """Refuse (413) a request whose tensors, gradients counted, exceed the element limits."""
    for name, shape in named_shapes.items():
        check_elements(name, shape, settings.max_tensor_elements)
    total = sum(numel(shape) for shape in named_shapes.values()) * (2 if backward else 1)
    if total > settings.max_total_elements:
        parameters = sum(
            numel(shape) for name, shape in named_shapes.items() if name.startswith("parameters")
        )
        largest = " (most of them parameters)" if 2 * parameters > total else ""
        raise ProblemError(
            413,
            "too-many-elements",
            f"this request would hold {total:,} elements in all (input, outputs, parameters"
            f"{', and their gradients' if backward else ''}){largest}, over the limit of "
            f"{settings.max_total_elements:,} (LAYERSCOPE_MAX_TOTAL_ELEMENTS); use smaller "
            "shapes or a smaller model, or raise that setting",
            title="Request too large",
            context={
                "elements": total,
                "parameters": parameters,
                "limit": settings.max_total_elements,
                "setting": "LAYERSCOPE_MAX_TOTAL_ELEMENTS",
            },
            limit="elements",
        )
