"""Misfits of layers that name dimensions: flatten, unflatten, the softmax family, GLU, and the
channel dropouts."""

from schemas.layer_specs import FlattenSpec, LogSoftmaxSpec, SoftmaxSpec
from schemas.layer_specs.activations import GLUSpec, SoftminSpec
from schemas.layer_specs.base import LayerSpecBase
from schemas.layer_specs.dropout import Dropout1dSpec
from schemas.layer_specs.shape import UnflattenSpec
from service.planning.fit.received import (
    Misfit,
    Misfitter,
    Received,
    dim_misfit,
    dim_range,
    rank_misfit,
)


def flatten(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Flatten: start_dim and end_dim are dimensions, start_dim first."""
    assert isinstance(spec, FlattenSpec)
    rank = received.rank
    for name in ("start_dim", "end_dim"):
        found = dim_misfit(name, getattr(spec, name), rank)
        if found is not None:
            return found
    start, end = spec.start_dim % max(rank, 1), spec.end_dim % max(rank, 1)
    if start > end:
        return Misfit(
            f"start_dim ({spec.start_dim}) to come no later than end_dim ({spec.end_dim})",
            "swap them, or set end_dim=-1",
        )
    return None


def unflatten(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Unflatten: dim is a dimension whose size the new sizes multiply to."""
    assert isinstance(spec, UnflattenSpec)
    if received.rank == 0:
        return Misfit("at least 1 dimension", "unflatten a tensor with dimensions")
    found = dim_misfit("dim", spec.dim, received.rank)
    if found is not None:
        return found
    size = received.shape[spec.dim]
    known = 1
    for part in spec.unflattened_size:
        known *= part if part != -1 else 1
    inferred = -1 in spec.unflattened_size
    if (inferred and known and size % known == 0) or (not inferred and known == size):
        return None
    return Misfit(
        f"dimension {spec.dim} (size {size}) to split into {spec.unflattened_size}",
        f"give sizes whose product is {size} (one may be -1)",
    )


def softmax(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Softmax, log-softmax, softmin: dim is a dimension of the input."""
    assert isinstance(spec, SoftmaxSpec | LogSoftmaxSpec | SoftminSpec)
    return dim_misfit("dim", spec.dim, received.rank)


def glu(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """GLU: dim is a dimension of even size (its two halves gate each other)."""
    assert isinstance(spec, GLUSpec)
    if received.rank == 0:
        return Misfit("at least 1 dimension", f"give an input with dimension {spec.dim}")
    found = dim_misfit("dim", spec.dim, received.rank)
    if found is not None:
        return found
    size = received.shape[spec.dim]
    if size % 2 == 0:
        return None
    return Misfit(
        f"dimension {spec.dim} of even size (halved into a and b), not {size}",
        f"pick a dim of even size ({dim_range(received.rank)}) or change the input",
    )


def dropout1d(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Dropout1d: [N, C, L] or [C, L] (PyTorch refuses other ranks)."""
    return rank_misfit(received, (2, 3), "a 3-D input [N, C, L] (or 2-D [C, L])", "[1, C, L]")


DIM_MISFITS: dict[type[LayerSpecBase], Misfitter] = {
    FlattenSpec: flatten,
    UnflattenSpec: unflatten,
    SoftmaxSpec: softmax,
    LogSoftmaxSpec: softmax,
    SoftminSpec: softmax,
    GLUSpec: glu,
    Dropout1dSpec: dropout1d,
}
"""The misfit check of each layer type that names dimensions."""
