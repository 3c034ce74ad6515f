"""Layer specs: one model per layer type, with PyTorch's own argument names.

`LayerSpec` is a union discriminated on `type`; activations are a second union inside it,
discriminated on `name`, so each activation accepts exactly its own options.
"""

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, model_validator

from schemas.base import VARIANT_MARK, StrictModel, variant

MAX_CHANNELS = 65536
MAX_WINDOW = 1024

Channels = Annotated[int, Field(ge=1, le=MAX_CHANNELS)]
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW)]
Padding = Annotated[int, Field(ge=0, le=MAX_WINDOW)]

IntOrPair = Window | Annotated[list[Window], Field(min_length=2, max_length=2)]
"""An int, or [height, width]."""

PaddingOrPair = Padding | Annotated[list[Padding], Field(min_length=2, max_length=2)]


def pair(value: int | list[int]) -> tuple[int, int]:
    """Return an int-or-pair argument as (height, width), as torch's `_pair` does."""
    if isinstance(value, int):
        return (value, value)
    return (value[0], value[1])


class Conv2dSpec(StrictModel):
    """torch.nn.Conv2d."""

    type: Literal["conv2d"] = "conv2d"
    in_channels: Channels
    out_channels: Channels
    kernel_size: IntOrPair
    stride: IntOrPair = 1
    padding: PaddingOrPair | Literal["same", "valid"] = 0
    dilation: IntOrPair = 1
    groups: Channels = 1
    bias: bool = True
    padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros"

    @model_validator(mode="after")
    def _check(self) -> "Conv2dSpec":
        if self.in_channels % self.groups:
            raise ValueError(
                f"in_channels ({self.in_channels}) must be divisible by groups "
                f"({self.groups}): pick groups that divides both channel counts"
            )
        if self.out_channels % self.groups:
            raise ValueError(
                f"out_channels ({self.out_channels}) must be divisible by groups "
                f"({self.groups}): pick groups that divides both channel counts"
            )
        if self.padding == "same" and pair(self.stride) != (1, 1):
            raise ValueError(
                "padding='same' works only with stride=1 in PyTorch: set stride=1 or give "
                "padding as numbers"
            )
        return self


class MaxPool2dSpec(StrictModel):
    """torch.nn.MaxPool2d (stride defaults to kernel_size, as in PyTorch)."""

    type: Literal["maxpool2d"] = "maxpool2d"
    kernel_size: IntOrPair
    stride: IntOrPair | None = None
    padding: PaddingOrPair = 0
    dilation: IntOrPair = 1
    ceil_mode: bool = False

    @model_validator(mode="after")
    def _check(self) -> "MaxPool2dSpec":
        kernel, padding = pair(self.kernel_size), pair(self.padding)
        for k, p in zip(kernel, padding, strict=True):
            if p > k // 2:
                raise ValueError(
                    f"padding ({list(padding)}) must be at most half of kernel_size "
                    f"({list(kernel)}), as PyTorch requires: set padding <= {k // 2}"
                )
        return self


class LinearSpec(StrictModel):
    """torch.nn.Linear."""

    type: Literal["linear"] = "linear"
    in_features: Channels
    out_features: Channels
    bias: bool = True


class FlattenSpec(StrictModel):
    """torch.nn.Flatten: the step between convolutions and linear layers."""

    type: Literal["flatten"] = "flatten"
    start_dim: Annotated[int, Field(ge=-8, le=7)] = 1
    end_dim: Annotated[int, Field(ge=-8, le=7)] = -1


class _Activation(StrictModel):
    type: Literal["activation"] = "activation"


class ReLUSpec(_Activation):
    """torch.nn.ReLU."""

    name: Literal["relu"]


class LeakyReLUSpec(_Activation):
    """torch.nn.LeakyReLU."""

    name: Literal["leaky_relu"]
    negative_slope: float = Field(default=0.01, allow_inf_nan=False)


class ELUSpec(_Activation):
    """torch.nn.ELU."""

    name: Literal["elu"]
    alpha: float = Field(default=1.0, allow_inf_nan=False)


class GELUSpec(_Activation):
    """torch.nn.GELU."""

    name: Literal["gelu"]
    approximate: Literal["none", "tanh"] = "none"


class SiLUSpec(_Activation):
    """torch.nn.SiLU."""

    name: Literal["silu"]


class SigmoidSpec(_Activation):
    """torch.nn.Sigmoid."""

    name: Literal["sigmoid"]


class TanhSpec(_Activation):
    """torch.nn.Tanh."""

    name: Literal["tanh"]


class SoftmaxSpec(_Activation):
    """torch.nn.Softmax; `dim` defaults to -1 (the last dimension), never PyTorch's implicit one."""

    name: Literal["softmax"]
    dim: Annotated[int, Field(ge=-8, le=7)] = -1


class LogSoftmaxSpec(_Activation):
    """torch.nn.LogSoftmax; `dim` defaults to -1 (the last dimension)."""

    name: Literal["log_softmax"]
    dim: Annotated[int, Field(ge=-8, le=7)] = -1


def _layer_tag(value: Any) -> str | None:
    """Pick a union member by `type`, and for activations by `name` too."""

    def get(key: str) -> Any:
        return value.get(key) if isinstance(value, dict) else getattr(value, key, None)

    kind = get("type")
    if kind == "activation":
        return f"{VARIANT_MARK}activation:{get('name')}"
    return VARIANT_MARK + kind if isinstance(kind, str) else None


ActivationSpec = (
    ReLUSpec
    | LeakyReLUSpec
    | ELUSpec
    | GELUSpec
    | SiLUSpec
    | SigmoidSpec
    | TanhSpec
    | SoftmaxSpec
    | LogSoftmaxSpec
)

LayerSpec = Annotated[
    Annotated[Conv2dSpec, variant("conv2d")]
    | Annotated[MaxPool2dSpec, variant("maxpool2d")]
    | Annotated[LinearSpec, variant("linear")]
    | Annotated[FlattenSpec, variant("flatten")]
    | Annotated[ReLUSpec, variant("activation:relu")]
    | Annotated[LeakyReLUSpec, variant("activation:leaky_relu")]
    | Annotated[ELUSpec, variant("activation:elu")]
    | Annotated[GELUSpec, variant("activation:gelu")]
    | Annotated[SiLUSpec, variant("activation:silu")]
    | Annotated[SigmoidSpec, variant("activation:sigmoid")]
    | Annotated[TanhSpec, variant("activation:tanh")]
    | Annotated[SoftmaxSpec, variant("activation:softmax")]
    | Annotated[LogSoftmaxSpec, variant("activation:log_softmax")],
    Discriminator(
        _layer_tag,
        custom_error_type="missing_layer_type",
        custom_error_message="a layer needs `type` one of conv2d, maxpool2d, linear, flatten, "
        "activation; an activation needs `name` one of relu, leaky_relu, elu, gelu, silu, "
        "sigmoid, tanh, softmax, log_softmax",
    ),
]
"""One layer, chosen by `type` (and, for activations, by `name`)."""
