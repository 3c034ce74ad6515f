"""Layers that move values rather than learn: flatten, unflatten, identity, upsampling, pixel
shuffles and zero padding, with PyTorch's arguments."""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from schemas.base import INTEGRAL, MAX_DIM_SIZE, MAX_RANK
from schemas.layer_specs.base import Dim, LayerSpecBase

Side = Annotated[int, Field(ge=1, le=MAX_DIM_SIZE), INTEGRAL]
Scale = Annotated[float, Field(gt=0.0, le=1024.0, allow_inf_nan=False)]
Pad = Annotated[int, Field(ge=-1024, le=1024), INTEGRAL]
"""Padding of one edge; negative crops, as in PyTorch."""


class FlattenSpec(LayerSpecBase):
    """torch.nn.Flatten: dimensions start_dim..end_dim become one (the step before linear)."""

    TORCH_CLASS: ClassVar[str] = "Flatten"
    type: Literal["flatten"]
    start_dim: Dim = 1
    end_dim: Dim = -1


class UnflattenSpec(LayerSpecBase):
    """torch.nn.Unflatten: dimension `dim` becomes `unflattened_size` (one entry may be -1)."""

    TORCH_CLASS: ClassVar[str] = "Unflatten"
    type: Literal["unflatten"]
    dim: Dim
    unflattened_size: Annotated[
        list[Annotated[int, Field(ge=-1, le=MAX_DIM_SIZE), INTEGRAL]],
        Field(min_length=1, max_length=MAX_RANK),
    ]

    @model_validator(mode="after")
    def _one_inferred(self) -> "UnflattenSpec":
        if self.unflattened_size.count(-1) > 1:
            raise ValueError("at most one size of unflattened_size may be -1: give the others")
        return self


class IdentitySpec(LayerSpecBase):
    """torch.nn.Identity: the output is the input (a placeholder, e.g. a removed head)."""

    TORCH_CLASS: ClassVar[str] = "Identity"
    type: Literal["identity"]


UpsampleMode = Literal["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear"]
INTERPOLATING = frozenset({"linear", "bilinear", "bicubic", "trilinear"})


class UpsampleSpec(LayerSpecBase):
    """torch.nn.Upsample: to `size`, or by `scale_factor` (give exactly one). `linear` takes 3-D
    input, `bilinear` and `bicubic` 4-D, `trilinear` 5-D; `nearest` any of them."""

    TORCH_CLASS: ClassVar[str] = "Upsample"
    type: Literal["upsample"]
    size: Side | Annotated[list[Side], Field(min_length=1, max_length=3)] | None = None
    scale_factor: Scale | Annotated[list[Scale], Field(min_length=1, max_length=3)] | None = None
    mode: UpsampleMode = "nearest"
    align_corners: bool | None = None
    recompute_scale_factor: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> "UpsampleSpec":
        if (self.size is None) == (self.scale_factor is None):
            raise ValueError(
                "give exactly one of size or scale_factor, as PyTorch requires: e.g. "
                '"scale_factor": 2'
            )
        if self.align_corners is not None and self.mode not in INTERPOLATING:
            raise ValueError(
                "align_corners applies only to the interpolating modes (linear, bilinear, "
                f"bicubic, trilinear), not {self.mode!r}: remove it or change mode"
            )
        return self


class PixelShuffleSpec(LayerSpecBase):
    """torch.nn.PixelShuffle: [*, C*r^2, H, W] -> [*, C, H*r, W*r] with r = upscale_factor."""

    TORCH_CLASS: ClassVar[str] = "PixelShuffle"
    type: Literal["pixelshuffle"]
    upscale_factor: Annotated[int, Field(ge=1, le=64), INTEGRAL]


class PixelUnshuffleSpec(LayerSpecBase):
    """torch.nn.PixelUnshuffle: [*, C, H*r, W*r] -> [*, C*r^2, H, W] with r = downscale_factor."""

    TORCH_CLASS: ClassVar[str] = "PixelUnshuffle"
    type: Literal["pixelunshuffle"]
    downscale_factor: Annotated[int, Field(ge=1, le=64), INTEGRAL]


class ZeroPad1dSpec(LayerSpecBase):
    """torch.nn.ZeroPad1d: `padding` as one int or [left, right]."""

    TORCH_CLASS: ClassVar[str] = "ZeroPad1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["zeropad1d"]
    padding: Pad | Annotated[list[Pad], Field(min_length=2, max_length=2)]


class ZeroPad2dSpec(LayerSpecBase):
    """torch.nn.ZeroPad2d: `padding` as one int or [left, right, top, bottom]."""

    TORCH_CLASS: ClassVar[str] = "ZeroPad2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["zeropad2d"]
    padding: Pad | Annotated[list[Pad], Field(min_length=4, max_length=4)]


class ZeroPad3dSpec(LayerSpecBase):
    """torch.nn.ZeroPad3d: `padding` as one int or [left, right, top, bottom, front, back]."""

    TORCH_CLASS: ClassVar[str] = "ZeroPad3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["zeropad3d"]
    padding: Pad | Annotated[list[Pad], Field(min_length=6, max_length=6)]


SHAPES = (
    FlattenSpec,
    UnflattenSpec,
    IdentitySpec,
    UpsampleSpec,
    PixelShuffleSpec,
    PixelUnshuffleSpec,
    ZeroPad1dSpec,
    ZeroPad2dSpec,
    ZeroPad3dSpec,
)
