"""Convolutions: torch.nn.Conv1d/2d/3d and ConvTranspose1d/2d/3d, with PyTorch's arguments."""

from typing import ClassVar, Literal

from pydantic import model_validator

from schemas.layer_specs.base import (
    Channels,
    LayerSpecBase,
    Padding1,
    Padding2,
    Padding3,
    Window1,
    Window2,
    Window3,
    ntuple,
)

PaddingMode = Literal["zeros", "reflect", "replicate", "circular"]


class _Convolution(LayerSpecBase):
    """Checks every convolution shares, before anything is built."""

    @model_validator(mode="after")
    def _check_groups(self) -> "_Convolution":
        groups = getattr(self, "groups", 1)
        for name in ("in_channels", "out_channels"):
            if getattr(self, name) % groups:
                raise ValueError(
                    f"{name} ({getattr(self, name)}) must be divisible by groups "
                    f"({groups}): pick groups that divides both channel counts"
                )
        padding = getattr(self, "padding", 0)
        if padding == "same" and set(ntuple(getattr(self, "stride", 1), 1)) != {1}:
            raise ValueError(
                "padding='same' works only with stride=1 in PyTorch: set stride=1 or give "
                "padding as numbers"
            )
        return self


class _Transposed(_Convolution):
    """Checks of the transposed convolutions: output_padding below stride or dilation."""

    @model_validator(mode="after")
    def _check_output_padding(self) -> "_Transposed":
        n = self.SPATIAL_DIMS or 1
        out_pad = ntuple(getattr(self, "output_padding", 0), n)
        stride = ntuple(getattr(self, "stride", 1), n)
        dilation = ntuple(getattr(self, "dilation", 1), n)
        for o, s, d in zip(out_pad, stride, dilation, strict=True):
            if o >= max(s, d):
                raise ValueError(
                    f"output_padding ({list(out_pad)}) must be smaller than stride or dilation "
                    f"({list(stride)}, {list(dilation)}), as PyTorch requires: lower "
                    "output_padding or raise stride"
                )
        return self


class Conv1dSpec(_Convolution):
    """torch.nn.Conv1d: input [N, C, L] or [C, L]."""

    TORCH_CLASS: ClassVar[str] = "Conv1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["conv1d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window1
    stride: Window1 = 1
    padding: Padding1 | Literal["same", "valid"] = 0
    dilation: Window1 = 1
    groups: Channels = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"


class Conv2dSpec(_Convolution):
    """torch.nn.Conv2d: input [N, C, H, W] or [C, H, W]."""

    TORCH_CLASS: ClassVar[str] = "Conv2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["conv2d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window2
    stride: Window2 = 1
    padding: Padding2 | Literal["same", "valid"] = 0
    dilation: Window2 = 1
    groups: Channels = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"


class Conv3dSpec(_Convolution):
    """torch.nn.Conv3d: input [N, C, D, H, W] or [C, D, H, W]."""

    TORCH_CLASS: ClassVar[str] = "Conv3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["conv3d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window3
    stride: Window3 = 1
    padding: Padding3 | Literal["same", "valid"] = 0
    dilation: Window3 = 1
    groups: Channels = 1
    bias: bool = True
    padding_mode: PaddingMode = "zeros"


class ConvTranspose1dSpec(_Transposed):
    """torch.nn.ConvTranspose1d: input [N, C, L] or [C, L]."""

    TORCH_CLASS: ClassVar[str] = "ConvTranspose1d"
    SPATIAL_DIMS: ClassVar[int | None] = 1
    type: Literal["convtranspose1d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window1
    stride: Window1 = 1
    padding: Padding1 = 0
    output_padding: Padding1 = 0
    groups: Channels = 1
    bias: bool = True
    dilation: Window1 = 1
    padding_mode: Literal["zeros"] = "zeros"


class ConvTranspose2dSpec(_Transposed):
    """torch.nn.ConvTranspose2d: input [N, C, H, W] or [C, H, W]."""

    TORCH_CLASS: ClassVar[str] = "ConvTranspose2d"
    SPATIAL_DIMS: ClassVar[int | None] = 2
    type: Literal["convtranspose2d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window2
    stride: Window2 = 1
    padding: Padding2 = 0
    output_padding: Padding2 = 0
    groups: Channels = 1
    bias: bool = True
    dilation: Window2 = 1
    padding_mode: Literal["zeros"] = "zeros"


class ConvTranspose3dSpec(_Transposed):
    """torch.nn.ConvTranspose3d: input [N, C, D, H, W] or [C, D, H, W]."""

    TORCH_CLASS: ClassVar[str] = "ConvTranspose3d"
    SPATIAL_DIMS: ClassVar[int | None] = 3
    type: Literal["convtranspose3d"]
    in_channels: Channels
    out_channels: Channels
    kernel_size: Window3
    stride: Window3 = 1
    padding: Padding3 = 0
    output_padding: Padding3 = 0
    groups: Channels = 1
    bias: bool = True
    dilation: Window3 = 1
    padding_mode: Literal["zeros"] = "zeros"


CONVOLUTIONS = (
    Conv1dSpec,
    Conv2dSpec,
    Conv3dSpec,
    ConvTranspose1dSpec,
    ConvTranspose2dSpec,
    ConvTranspose3dSpec,
)
