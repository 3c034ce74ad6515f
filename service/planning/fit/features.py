"""Misfits of layers sized to their input's features or channels: linear, embedding, the norms,
PReLU."""

import torch

from schemas.layer_specs import EmbeddingSpec, LinearSpec
from schemas.layer_specs.activations import PReLUSpec
from schemas.layer_specs.base import LayerSpecBase
from schemas.layer_specs.normalization import (
    BatchNorm1dSpec,
    BatchNorm2dSpec,
    BatchNorm3dSpec,
    GroupNormSpec,
    InstanceNorm1dSpec,
    InstanceNorm2dSpec,
    InstanceNorm3dSpec,
    LayerNormSpec,
    LocalResponseNormSpec,
)
from service.planning.fit.received import Misfit, Misfitter, Received, rank_misfit
from service.planning.fit.spatial import batched_rank, channels_fit

INTEGER_DTYPES = frozenset({torch.int64, torch.int32})


def linear(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Linear: the last dimension is in_features."""
    assert isinstance(spec, LinearSpec)
    if received.rank == 0:
        return Misfit(
            f"at least 1 dimension, the last of {spec.in_features} features",
            f"send shape [{spec.in_features}] or [N, {spec.in_features}]",
        )
    if received.shape[-1] == spec.in_features:
        return None
    hint = " (or add a flatten layer before it)" if received.rank > 2 else ""
    return Misfit(
        f"{spec.in_features} input features (the last dimension)",
        f"set in_features={received.shape[-1]}{hint}",
        suggestion=("in_features", received.shape[-1]),
    )


def embedding(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Embedding: integer indices (their values are checked where they are known)."""
    if received.dtype in INTEGER_DTYPES:
        return None
    return Misfit(
        f"integer indices (int64), not {str(received.dtype).removeprefix('torch.')}",
        'put embedding first and send an int64 input, e.g. {"shape": [1, 8], "dtype": '
        '"int64", "high": ' + str(getattr(spec, "num_embeddings", 10)) + "}",
    )


BATCH_NORM_RANKS: dict[type[LayerSpecBase], tuple[tuple[int, ...], str, str]] = {
    BatchNorm1dSpec: ((2, 3), "a 2-D input [N, C] or 3-D [N, C, L]", "[1, C, L]"),
    BatchNorm2dSpec: ((4,), "a 4-D input [N, C, H, W]", "[1, C, H, W]"),
    BatchNorm3dSpec: ((5,), "a 5-D input [N, C, D, H, W]", "[1, C, D, H, W]"),
}


def batch_norm(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Batch norms: the rank, num_features at dimension 1 (where it sizes a parameter or
    statistic and the input is not empty), and in train mode more than one value per channel
    (the batch statistics need them)."""
    ranks, expects, example = BATCH_NORM_RANKS[type(spec)]
    found = rank_misfit(received, ranks, expects, example)
    if found is not None:
        return found
    channels = received.shape[1]
    want = getattr(spec, "num_features")  # noqa: B009
    per_channel = received.shape[0]
    for size in received.shape[2:]:
        per_channel *= size
    # num_features sizes the affine parameters and running statistics: without either any
    # channel count runs, and PyTorch takes any empty input.
    sized = getattr(spec, "affine", True) or getattr(spec, "track_running_stats", True)
    if channels != want and sized and channels * per_channel:
        return Misfit(
            f"{want} channels (dimension 1)",
            f"set num_features={channels}",
            suggestion=("num_features", channels),
        )
    batch_stats = received.training or not getattr(spec, "track_running_stats", True)
    if batch_stats and per_channel == 1:
        return Misfit(
            "more than one value per channel to compute batch statistics",
            'use a batch of 2 or more, or "mode": "eval" with track_running_stats',
        )
    return None


def instance_norm(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Instance norms: the rank; num_features at the channel dimension when it has affine
    parameters or running statistics; in train mode more than one spatial element."""
    found = batched_rank(spec, received)
    if found is not None:
        return found
    # Affine parameters need their channels; running statistics too, except for an empty
    # input in eval mode (PyTorch then reads no statistic).
    empty = 0 in received.shape
    tracked = getattr(spec, "track_running_stats", False) and (received.training or not empty)
    if getattr(spec, "affine", False) or tracked:
        found = channels_fit(spec, received, "num_features")
        if found is not None:
            return found
    n = spec.SPATIAL_DIMS or 1
    spatial = 1
    for size in received.shape[received.rank - n :]:
        spatial *= size
    input_stats = received.training or not getattr(spec, "track_running_stats", False)
    if input_stats and spatial == 1:
        return Misfit(
            "more than one spatial element to compute instance statistics",
            'use a larger input, or "mode": "eval" with track_running_stats',
        )
    return None


def layer_norm(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """LayerNorm: the trailing dimensions equal normalized_shape."""
    assert isinstance(spec, LayerNormSpec)
    want = (
        [spec.normalized_shape]
        if isinstance(spec.normalized_shape, int)
        else list(spec.normalized_shape)
    )
    got = received.shape[received.rank - len(want) :] if received.rank >= len(want) else None
    if got == want:
        return None
    value = None if got is None else got[-1] if len(want) == 1 else got
    fix = (
        f"set normalized_shape={value}"
        if got is not None
        else f"send at least {len(want)} dimensions"
    )
    return Misfit(
        f"its last dimensions to be {want} (normalized_shape)",
        fix,
        suggestion=None if value is None else ("normalized_shape", value),
    )


def group_norm(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """GroupNorm: at least [N, C]; C equals num_channels (with affine parameters), or is at
    least divisible by num_groups (without, as PyTorch checks)."""
    assert isinstance(spec, GroupNormSpec)
    if received.rank < 2:
        return Misfit("at least 2 dimensions [N, C, *]", "add a batch dimension")
    channels = received.shape[1]
    if channels == spec.num_channels:
        return None
    if not spec.affine:
        if channels % spec.num_groups == 0:
            return None
        return Misfit(
            f"channels (dimension 1) divisible by num_groups ({spec.num_groups})",
            f"set num_groups to a divisor of {channels}",
        )
    return Misfit(
        f"{spec.num_channels} channels (dimension 1)",
        f"set num_channels={received.shape[1]} (and num_groups dividing it)",
        suggestion=("num_channels", received.shape[1]),
    )


def local_response_norm(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """LocalResponseNorm: at least [N, C, L]."""
    if received.rank >= 3:
        return None
    return Misfit("at least 3 dimensions [N, C, *]", "reshape the input to [N, C, ...]")


def prelu(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """PReLU with one slope per channel: dimension 1 holds num_parameters channels (PyTorch
    counts one channel in a 0-d or 1-D input)."""
    assert isinstance(spec, PReLUSpec)
    if spec.num_parameters == 1:
        return None
    if received.rank < 2:
        return Misfit(
            f"an input [N, C, *] with {spec.num_parameters} channels (dimension 1) for one "
            "slope each (a 0-d or 1-D input has one channel)",
            f"set num_parameters=1, or send shape [1, {spec.num_parameters}]",
        )
    if received.shape[1] == spec.num_parameters:
        return None
    return Misfit(
        f"{spec.num_parameters} channels (dimension 1) for one slope each",
        f"set num_parameters={received.shape[1]} or 1",
        suggestion=("num_parameters", received.shape[1]),
    )


FEATURE_MISFITS: dict[type[LayerSpecBase], Misfitter] = {
    LinearSpec: linear,
    EmbeddingSpec: embedding,
    **dict.fromkeys(BATCH_NORM_RANKS, batch_norm),
    **dict.fromkeys((InstanceNorm1dSpec, InstanceNorm2dSpec, InstanceNorm3dSpec), instance_norm),
    LayerNormSpec: layer_norm,
    GroupNormSpec: group_norm,
    LocalResponseNormSpec: local_response_norm,
    PReLUSpec: prelu,
}
"""The misfit check of each layer type sized to its input's features."""
