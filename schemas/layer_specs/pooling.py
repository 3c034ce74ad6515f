"""Pooling: max, average, adaptive and power-average pools, with PyTorch's arguments.

`return_indices` is not offered: with it a pool returns a pair of tensors, not an output the
next layer can take (PyTorch's MaxUnpool is the only reader of those indices).
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from schemas.base import INTEGRAL
from schemas.layer_specs.base import (
    LayerSpecBase,
    Padding1,
    Padding2,
    Padding3,
    Positive,
    Window,
    Window1,
    Window2,
    Window3,
    ntuple,
)

OutputSide = Annotated[int, Field(ge=1, le=1 << 16), INTEGRAL]
"""One side of an adaptive pool's output."""
OutputSize1 = OutputSide | Annotated[list[OutputSide | None], Field(min_length=1, max_length=1)]
OutputSize2 = OutputSide | Annotated[list[OutputSide | None], Field(min_length=2, max_length=2)]
OutputSize3 = OutputSide | Annotated[list[OutputSide | None], Field(min_length=3, max_length=3)]
"""An int, or one size per spatial dimension where null keeps the input's size."""


class _Windowed(LayerSpecBase):
    """Padding may be at most half the (dilated) kernel, as PyTorch checks."""

    @model_validator(mode="after")
    def _check_padding(self) -> "_Windowed":
        n = self.SPATIAL_DIMS or 1
        kernel = ntuple(getattr(self, "kernel_size"), n)  # noqa: B009
        padding = ntuple(getattr(self, "padding", 0), n)
        for k, p in zip(kernel, padding, strict=True):
            if p > k // 2:
                raise ValueError(
                    f"padding ({list(padding)}) must be at most half of kernel_size "
                    f"({list(kernel)}), as PyTorch requires: set padding <= {k // 2}"
                )
        return self


class MaxPool1dSpec(_Windowed):
    """torch.nn.MaxPool1d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "MaxPool1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["maxpool1d"]
    kernel_size: Window1
    stride: Window1 | None = None
    padding: Padding1 = 0
    dilation: Window1 = 1
    ceil_mode: bool = False


class MaxPool2dSpec(_Windowed):
    """torch.nn.MaxPool2d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "MaxPool2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["maxpool2d"]
    kernel_size: Window2
    stride: Window2 | None = None
    padding: Padding2 = 0
    dilation: Window2 = 1
    ceil_mode: bool = False


class MaxPool3dSpec(_Windowed):
    """torch.nn.MaxPool3d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "MaxPool3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["maxpool3d"]
    kernel_size: Window3
    stride: Window3 | None = None
    padding: Padding3 = 0
    dilation: Window3 = 1
    ceil_mode: bool = False


class AvgPool1dSpec(_Windowed):
    """torch.nn.AvgPool1d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "AvgPool1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["avgpool1d"]
    kernel_size: Window1
    stride: Window1 | None = None
    padding: Padding1 = 0
    ceil_mode: bool = False
    count_include_pad: bool = True


class AvgPool2dSpec(_Windowed):
    """torch.nn.AvgPool2d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "AvgPool2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["avgpool2d"]
    kernel_size: Window2
    stride: Window2 | None = None
    padding: Padding2 = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: Window | None = None


class AvgPool3dSpec(_Windowed):
    """torch.nn.AvgPool3d (stride defaults to kernel_size)."""

    TORCH_CLASS: ClassVar[str] = "AvgPool3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["avgpool3d"]
    kernel_size: Window3
    stride: Window3 | None = None
    padding: Padding3 = 0
    ceil_mode: bool = False
    count_include_pad: bool = True
    divisor_override: Window | None = None


class AdaptiveAvgPool1dSpec(LayerSpecBase):
    """torch.nn.AdaptiveAvgPool1d: averages to `output_size` whatever the input's length."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveAvgPool1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["adaptiveavgpool1d"]
    output_size: OutputSide | Annotated[list[OutputSide], Field(min_length=1, max_length=1)]


class AdaptiveAvgPool2dSpec(LayerSpecBase):
    """torch.nn.AdaptiveAvgPool2d: averages to `output_size` whatever the input's size."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveAvgPool2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["adaptiveavgpool2d"]
    output_size: OutputSize2


class AdaptiveAvgPool3dSpec(LayerSpecBase):
    """torch.nn.AdaptiveAvgPool3d: averages to `output_size` whatever the input's size."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveAvgPool3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["adaptiveavgpool3d"]
    output_size: OutputSize3


class AdaptiveMaxPool1dSpec(LayerSpecBase):
    """torch.nn.AdaptiveMaxPool1d: the maximum over adaptive windows."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveMaxPool1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["adaptivemaxpool1d"]
    output_size: OutputSide | Annotated[list[OutputSide], Field(min_length=1, max_length=1)]


class AdaptiveMaxPool2dSpec(LayerSpecBase):
    """torch.nn.AdaptiveMaxPool2d: the maximum over adaptive windows."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveMaxPool2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["adaptivemaxpool2d"]
    output_size: OutputSize2


class AdaptiveMaxPool3dSpec(LayerSpecBase):
    """torch.nn.AdaptiveMaxPool3d: the maximum over adaptive windows."""

    TORCH_CLASS: ClassVar[str] = "AdaptiveMaxPool3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["adaptivemaxpool3d"]
    output_size: OutputSize3


class LPPool1dSpec(LayerSpecBase):
    """torch.nn.LPPool1d: the p-norm over each window (`norm_type` is p)."""

    TORCH_CLASS: ClassVar[str] = "LPPool1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["lppool1d"]
    norm_type: Positive
    kernel_size: Window1
    stride: Window1 | None = None
    ceil_mode: bool = False


class LPPool2dSpec(LayerSpecBase):
    """torch.nn.LPPool2d: the p-norm over each window (`norm_type` is p)."""

    TORCH_CLASS: ClassVar[str] = "LPPool2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["lppool2d"]
    norm_type: Positive
    kernel_size: Window2
    stride: Window2 | None = None
    ceil_mode: bool = False


POOLS = (
    MaxPool1dSpec,
    MaxPool2dSpec,
    MaxPool3dSpec,
    AvgPool1dSpec,
    AvgPool2dSpec,
    AvgPool3dSpec,
    AdaptiveAvgPool1dSpec,
    AdaptiveAvgPool2dSpec,
    AdaptiveAvgPool3dSpec,
    AdaptiveMaxPool1dSpec,
    AdaptiveMaxPool2dSpec,
    AdaptiveMaxPool3dSpec,
    LPPool1dSpec,
    LPPool2dSpec,
)
