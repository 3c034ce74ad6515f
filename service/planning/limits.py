"""The size limits of a run, checked from shapes alone before anything is allocated: elements
per tensor, elements in all, and the response's estimated bytes."""

import math
from collections.abc import Sequence

import torch

from service.errors import ProblemError, field_error
from service.settings import Settings


def numel(shape: list[int] | tuple[int, ...] | torch.Size) -> int:
    """Return the number of elements of a tensor of `shape`."""
    return math.prod(shape)


def check_elements(name: str, shape: list[int] | tuple[int, ...], limit: int) -> None:
    """Raise 413 when a tensor of `shape` would hold more than `limit` elements."""
    count = numel(shape)
    if count > limit:
        raise ProblemError(
            413,
            "too-many-elements",
            f"{name} of shape {list(shape)} would hold {count:,} elements, over the limit of "
            f"{limit:,}; use a smaller shape",
            title="Tensor too large",
            errors=[
                field_error(name, f"{count:,} elements", "use a smaller shape", "too_many_elements")
            ],
            context={"tensor": name, "shape": list(shape), "elements": count, "limit": limit},
            limit="elements",
        )


def check_totals(named_shapes: dict[str, list[int]], *, backward: bool, settings: Settings) -> None:
    """Refuse (413) a request whose tensors, gradients counted, exceed the element limits."""
    for name, shape in named_shapes.items():
        check_elements(name, shape, settings.max_tensor_elements)
    total = sum(numel(shape) for shape in named_shapes.values()) * (2 if backward else 1)
    if total > settings.max_total_elements:
        raise ProblemError(
            413,
            "too-many-elements",
            f"this request would hold {total:,} elements in all (input, outputs, parameters"
            f"{', and their gradients' if backward else ''}), over the limit of "
            f"{settings.max_total_elements:,}; use smaller shapes",
            title="Request too large",
            context={"elements": total, "limit": settings.max_total_elements},
            limit="elements",
        )


def values_returned(
    shapes: dict[str, list[int]], include: Sequence[str], backward: bool, input_grad: bool
) -> list[int]:
    """Element counts of the tensors whose values a response carries, from `include`.

    `shapes` names the input `body.input`, the outputs, and `parameters.<name>`.
    """
    counts = []
    for name, shape in shapes.items():
        kind = (
            "input"
            if name == "body.input"
            else "parameters"
            if name.startswith("parameters.")
            else "output"
        )
        if kind in include:
            counts.append(numel(shape))
        if backward and "gradients" in include and (kind != "input" or input_grad):
            counts.append(numel(shape))
    return counts


JSON_BYTES_PER_VALUE = 16
"""Upper estimate of one float32 in a JSON list: sign, 9 significant digits, exponent, comma."""
BASE64_BYTES_PER_VALUE = 16 / 3
TENSOR_OVERHEAD_BYTES = 512


def check_response_size(value_counts: list[int], encoding: str, settings: Settings) -> int:
    """Estimate the response's bytes from the tensors whose values it carries; 413 past the
    limit. Returns the estimate."""
    per_value = JSON_BYTES_PER_VALUE if encoding == "json" else BASE64_BYTES_PER_VALUE
    estimate = int(sum(value_counts) * per_value) + TENSOR_OVERHEAD_BYTES * len(value_counts)
    if estimate > settings.max_response_bytes:
        raise ProblemError(
            413,
            "response-too-large",
            f"the response would take about {estimate:,} bytes, over the limit of "
            f"{settings.max_response_bytes:,}; ask for fewer tensors in `include`, or use "
            "encoding=base64 (about 3x smaller)",
            title="Response too large",
            context={"estimated_bytes": estimate, "limit": settings.max_response_bytes},
            limit="response_bytes",
        )
    return estimate
