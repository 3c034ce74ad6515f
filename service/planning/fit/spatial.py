"""Misfits of layers that slide over spatial dimensions: convolutions, pools, padding, upsampling
and pixel shuffles, for 1, 2 and 3 spatial dimensions alike."""

import math

from schemas.layer_specs import ntuple
from schemas.layer_specs.base import LayerSpecBase
from schemas.layer_specs.convolution import CONVOLUTIONS
from schemas.layer_specs.pooling import (
    AdaptiveAvgPool1dSpec,
    AdaptiveAvgPool2dSpec,
    AdaptiveAvgPool3dSpec,
    AdaptiveMaxPool1dSpec,
    AdaptiveMaxPool2dSpec,
    AdaptiveMaxPool3dSpec,
    AvgPool1dSpec,
    AvgPool2dSpec,
    AvgPool3dSpec,
    LPPool1dSpec,
    LPPool2dSpec,
    MaxPool1dSpec,
    MaxPool2dSpec,
    MaxPool3dSpec,
)
from schemas.layer_specs.shape import (
    PixelShuffleSpec,
    PixelUnshuffleSpec,
    UpsampleSpec,
    ZeroPad1dSpec,
    ZeroPad2dSpec,
    ZeroPad3dSpec,
)
from service.planning.fit.received import Misfit, Misfitter, Received, rank_misfit

SPACE = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
AXES = {"L": "length", "D": "depth", "H": "height", "W": "width"}


def batched_rank(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """An input of N+2 (batched) or N+1 (unbatched) dimensions, N the spatial ones: 'a 4-D
    input [N, C, H, W] (or 3-D [C, H, W])' for N = 2."""
    n = spec.SPATIAL_DIMS or 1
    space = ", ".join(SPACE[n])
    expects = f"a {n + 2}-D input [N, C, {space}] (or {n + 1}-D [C, {space}])"
    return rank_misfit(received, (n + 1, n + 2), expects, f"[1, C, {space}]")


def windows_fit(
    spec: LayerSpecBase, received: Received, *, padding: tuple[int, ...], dilation: tuple[int, ...]
) -> Misfit | None:
    """Each spatial size, padded, holds at least one (dilated) kernel."""
    n = spec.SPATIAL_DIMS or 1
    kernel = ntuple(getattr(spec, "kernel_size"), n)  # noqa: B009
    for axis, name in enumerate(SPACE[n]):
        size = received.shape[received.rank - n + axis]
        effective = dilation[axis] * (kernel[axis] - 1) + 1
        if effective > size + 2 * padding[axis]:
            need = (effective - size + 1) // 2
            return Misfit(
                f"an input {AXES[name]} of at least {effective - 2 * padding[axis]} "
                f"(kernel {kernel[axis]}"
                + (f" dilated to {effective}" if dilation[axis] > 1 else "")
                + f", padding {padding[axis]})",
                f"use a smaller kernel_size or dilation, or set padding >= {need}",
            )
    return None


def channels_fit(spec: LayerSpecBase, received: Received, argument: str) -> Misfit | None:
    """Dimension C (just before the spatial ones) equals the layer's channel argument."""
    n = spec.SPATIAL_DIMS or 1
    want = getattr(spec, argument)
    got = received.shape[received.rank - n - 1]
    if got == want:
        return None
    groups = getattr(spec, "groups", 1)
    return Misfit(
        f"{want} input channels (dimension {received.rank - n - 1})",
        f"set {argument}={got}" + (f" (and groups dividing {got})" if groups > 1 else ""),
        suggestion=(argument, got) if got % groups == 0 else None,
    )


def convolution(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Convolutions and transposed convolutions."""
    n = spec.SPATIAL_DIMS or 1
    found = batched_rank(spec, received) or channels_fit(spec, received, "in_channels")
    if found is not None:
        return found
    transposed = spec.TORCH_CLASS.startswith("ConvTranspose")
    padding_arg = getattr(spec, "padding", 0)
    if padding_arg == "same":
        return None
    padding = (0,) * n if padding_arg == "valid" else ntuple(padding_arg, n)
    dilation = ntuple(getattr(spec, "dilation", 1), n)
    if transposed:
        return transposed_output(spec, received, padding, dilation)
    found = windows_fit(spec, received, padding=padding, dilation=dilation)
    mode = getattr(spec, "padding_mode", "zeros")
    if found is None and mode != "zeros":
        for axis, name in enumerate(SPACE[n]):
            size = received.shape[received.rank - n + axis]
            limit = size if mode == "circular" else size - 1 if mode == "reflect" else None
            if limit is not None and padding[axis] > limit:
                return Misfit(
                    f"padding at most {limit} along the {AXES[name]} with padding_mode='{mode}'",
                    f"set padding <= {limit} or use padding_mode='zeros'",
                )
    return found


def transposed_output(
    spec: LayerSpecBase, received: Received, padding: tuple[int, ...], dilation: tuple[int, ...]
) -> Misfit | None:
    """A transposed convolution's output size, (in-1)*stride - 2*padding + dilation*(k-1) +
    output_padding + 1, is at least 1."""
    n = spec.SPATIAL_DIMS or 1
    kernel = ntuple(getattr(spec, "kernel_size"), n)  # noqa: B009
    stride = ntuple(getattr(spec, "stride", 1), n)
    extra = ntuple(getattr(spec, "output_padding", 0), n)
    for axis, name in enumerate(SPACE[n]):
        size = received.shape[received.rank - n + axis]
        out = (size - 1) * stride[axis] - 2 * padding[axis]
        out += dilation[axis] * (kernel[axis] - 1) + extra[axis] + 1
        if out < 1:
            return Misfit(
                f"an output {AXES[name]} of at least 1, not {out} (padding {padding[axis]} "
                f"removes more than the kernel adds)",
                f"set padding <= {(out - 1 + 2 * padding[axis]) // 2} or use a larger input",
            )
    return None


def pool(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Max, average and power-average pools."""
    n = spec.SPATIAL_DIMS or 1
    found = batched_rank(spec, received)
    if found is not None:
        return found
    padding = ntuple(getattr(spec, "padding", 0), n)
    dilation = ntuple(getattr(spec, "dilation", 1), n)
    found = windows_fit(spec, received, padding=padding, dilation=dilation)
    if found is None or not getattr(spec, "ceil_mode", False):
        return found
    # With ceil_mode a last, partial window counts if it starts inside the input (or its
    # left padding): PyTorch's pooling_output_shape.
    kernel = ntuple(getattr(spec, "kernel_size"), n)  # noqa: B009
    stride = ntuple(getattr(spec, "stride", None) or kernel, n)
    for axis in range(n):
        size = received.shape[received.rank - n + axis]
        span = size + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1
        out = (span + stride[axis] - 1) // stride[axis] + 1
        if (out - 1) * stride[axis] >= size + padding[axis]:
            out -= 1
        if out < 1:
            return found
    return None


def adaptive_pool(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Adaptive pools take [N, C, *space] or [C, *space] without an empty dimension after the
    first. An average pool to size 1 (null keeping a side) is PyTorch's mean over the space,
    which takes any sizes, and for 2-D and 3-D pools any rank from the spatial one."""
    n = spec.SPATIAL_DIMS or 1
    output_size = getattr(spec, "output_size")  # noqa: B009
    least = n if isinstance(output_size, int) else n + 1  # a list needs one dimension more
    if received.rank >= least and spec.TORCH_CLASS.startswith("AdaptiveAvg"):
        sides = received.shape[received.rank - n :]
        wanted = ntuple(output_size, n)
        out = [side if size is None else size for size, side in zip(wanted, sides, strict=True)]
        if set(out) == {1} and (n > 1 or received.rank in (2, 3)):
            return None
    found = batched_rank(spec, received)
    if found is not None:
        return found
    if 0 in received.shape[1:]:  # PyTorch's check, batched or not
        return Misfit(
            "sizes of at least 1 after dimension 0 (only the batch may be empty)",
            "use a non-empty input",
        )
    return None


def zero_pad(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Zero padding: the last N dimensions, of an input of any rank from N (PyTorch's constant
    padding); negative padding crops, but no dimension below 0 elements."""
    n = spec.SPATIAL_DIMS or 1
    if received.rank < n:
        space = ", ".join(SPACE[n])
        return Misfit(
            f"at least {n} dimension{'s' if n > 1 else ''} to pad (the last: {space})",
            f"reshape the input, e.g. to [1, C, {space}]",
        )
    pads = ntuple(getattr(spec, "padding"), 2 * n)  # noqa: B009
    # PyTorch's order runs from the last dimension: (left, right, top, bottom, front, back).
    for axis in range(n):
        dim = received.rank - 1 - axis
        before, after = pads[2 * axis], pads[2 * axis + 1]
        if received.shape[dim] + before + after < 0:  # cropping to 0 is fine, as in PyTorch
            return Misfit(
                f"padding that does not crop dimension {dim} below size 0 (it is "
                f"{received.shape[dim]}, padded by {before} and {after})",
                "crop less (raise the negative padding towards 0)",
            )
    return None


UPSAMPLE_RANKS = {"linear": (3,), "bilinear": (4,), "bicubic": (4,), "trilinear": (5,)}


def upsample(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """Upsampling: the mode decides the rank; a size or scale per spatial dimension."""
    assert isinstance(spec, UpsampleSpec)
    ranks = UPSAMPLE_RANKS.get(spec.mode, (3, 4, 5))
    if received.rank not in ranks:
        wanted = " or ".join(f"{r}-D" for r in ranks)
        fix = (
            "use mode 'nearest' (any of 3-D to 5-D), or reshape the input"
            if spec.mode in UPSAMPLE_RANKS
            else "reshape the input to [N, C, ...] with 1 to 3 spatial dimensions"
        )
        return Misfit(f"a {wanted} input [N, C, ...] for mode '{spec.mode}'", fix)
    spatial = received.rank - 2
    for name in ("size", "scale_factor"):
        value = getattr(spec, name)
        if isinstance(value, list) and len(value) != spatial:
            return Misfit(
                f"{name} to give one value per spatial dimension ({spatial})",
                f"give {name} as one number or a list of {spatial}",
            )
    if 0 in received.shape[1:]:
        return Misfit(
            "channels and spatial sizes of at least 1 (only the batch may be empty)",
            "use a non-empty input, or an empty batch [0, C, ...]",
        )
    sides = received.shape[2:]
    if spec.size is not None:
        out = list(ntuple(spec.size, spatial))
    else:
        assert spec.scale_factor is not None
        scales = ntuple(spec.scale_factor, spatial)
        out = [math.floor(side * scale) for side, scale in zip(sides, scales, strict=True)]
    if min(out) < 1:
        return Misfit(
            f"a scale_factor that leaves every spatial size at least 1 (it gives {out})",
            "raise scale_factor, or give size",
        )
    return None


def pixel_shuffle(spec: LayerSpecBase, received: Received) -> Misfit | None:
    """PixelShuffle: channels divisible by r^2. PixelUnshuffle: height and width by r."""
    if received.rank < 3:
        return Misfit("an input of at least 3 dimensions [*, C, H, W]", "reshape the input")
    c, h, w = received.shape[-3:]
    if isinstance(spec, PixelShuffleSpec):
        r = spec.upscale_factor
        if c % (r * r):
            return Misfit(
                f"channels (dimension {received.rank - 3}) divisible by upscale_factor^2 = {r * r}",
                f"use an upscale_factor whose square divides {c}, or {r * r}k channels",
            )
        return None
    assert isinstance(spec, PixelUnshuffleSpec)
    r = spec.downscale_factor
    if h % r or w % r:
        return Misfit(
            f"height and width divisible by downscale_factor ({r})",
            f"use a downscale_factor that divides both {h} and {w}",
        )
    return None


SPATIAL_MISFITS: dict[type[LayerSpecBase], Misfitter] = {
    **dict.fromkeys(CONVOLUTIONS, convolution),
    **dict.fromkeys(
        (
            MaxPool1dSpec,
            MaxPool2dSpec,
            MaxPool3dSpec,
            AvgPool1dSpec,
            AvgPool2dSpec,
            AvgPool3dSpec,
            LPPool1dSpec,
            LPPool2dSpec,
        ),
        pool,
    ),
    **dict.fromkeys(
        (
            AdaptiveAvgPool1dSpec,
            AdaptiveAvgPool2dSpec,
            AdaptiveAvgPool3dSpec,
            AdaptiveMaxPool1dSpec,
            AdaptiveMaxPool2dSpec,
            AdaptiveMaxPool3dSpec,
        ),
        adaptive_pool,
    ),
    **dict.fromkeys((ZeroPad1dSpec, ZeroPad2dSpec, ZeroPad3dSpec), zero_pad),
    UpsampleSpec: upsample,
    PixelShuffleSpec: pixel_shuffle,
    PixelUnshuffleSpec: pixel_shuffle,
}
"""The misfit check of each spatial layer type."""
