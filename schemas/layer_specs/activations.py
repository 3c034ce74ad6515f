"""Activations: `{"type": "activation", "name": ...}`, the name being PyTorch's functional name
in snake_case (`torch.nn.functional.relu6` -> `relu6`), each with its module's own arguments.

`inplace` is not offered: layerscope keeps every layer's input readable for the report.
"""

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from schemas.layer_specs.base import Channels, Dim, LayerSpecBase, Real


class ActivationSpecBase(LayerSpecBase):
    """An activation: `type` is always `activation`, `name` picks which."""

    TAG_FIELDS: ClassVar[tuple[str, ...]] = ("type", "name")
    type: Literal["activation"]


class ReLUSpec(ActivationSpecBase):
    """torch.nn.ReLU: max(0, x)."""

    TORCH_CLASS: ClassVar[str] = "ReLU"
    name: Literal["relu"]


class ReLU6Spec(ActivationSpecBase):
    """torch.nn.ReLU6: min(max(0, x), 6) (MobileNet)."""

    TORCH_CLASS: ClassVar[str] = "ReLU6"
    name: Literal["relu6"]


class LeakyReLUSpec(ActivationSpecBase):
    """torch.nn.LeakyReLU: x, or negative_slope * x below 0."""

    TORCH_CLASS: ClassVar[str] = "LeakyReLU"
    name: Literal["leaky_relu"]
    negative_slope: Real = 0.01


class PReLUSpec(ActivationSpecBase):
    """torch.nn.PReLU: LeakyReLU with a learned slope, one or one per channel (dimension 1)."""

    TORCH_CLASS: ClassVar[str] = "PReLU"
    name: Literal["prelu"]
    num_parameters: Channels = 1
    init: Real = 0.25


class ELUSpec(ActivationSpecBase):
    """torch.nn.ELU."""

    TORCH_CLASS: ClassVar[str] = "ELU"
    name: Literal["elu"]
    alpha: Real = 1.0


class CELUSpec(ActivationSpecBase):
    """torch.nn.CELU: max(0, x) + min(0, alpha * (exp(x / alpha) - 1))."""

    TORCH_CLASS: ClassVar[str] = "CELU"
    name: Literal["celu"]
    alpha: Real = 1.0

    @model_validator(mode="after")
    def _nonzero(self) -> "CELUSpec":
        if self.alpha == 0:
            raise ValueError("alpha must not be 0 (CELU divides by it): use e.g. 1.0")
        return self


class SELUSpec(ActivationSpecBase):
    """torch.nn.SELU: scaled ELU with fixed constants (self-normalizing networks)."""

    TORCH_CLASS: ClassVar[str] = "SELU"
    name: Literal["selu"]


class GELUSpec(ActivationSpecBase):
    """torch.nn.GELU."""

    TORCH_CLASS: ClassVar[str] = "GELU"
    name: Literal["gelu"]
    approximate: Literal["none", "tanh"] = "none"


class SiLUSpec(ActivationSpecBase):
    """torch.nn.SiLU: x * sigmoid(x) (swish)."""

    TORCH_CLASS: ClassVar[str] = "SiLU"
    name: Literal["silu"]


class MishSpec(ActivationSpecBase):
    """torch.nn.Mish: x * tanh(softplus(x))."""

    TORCH_CLASS: ClassVar[str] = "Mish"
    name: Literal["mish"]


class HardswishSpec(ActivationSpecBase):
    """torch.nn.Hardswish: x * relu6(x + 3) / 6 (MobileNetV3)."""

    TORCH_CLASS: ClassVar[str] = "Hardswish"
    name: Literal["hardswish"]


class HardsigmoidSpec(ActivationSpecBase):
    """torch.nn.Hardsigmoid: relu6(x + 3) / 6."""

    TORCH_CLASS: ClassVar[str] = "Hardsigmoid"
    name: Literal["hardsigmoid"]


class HardtanhSpec(ActivationSpecBase):
    """torch.nn.Hardtanh: x clamped to [min_val, max_val]."""

    TORCH_CLASS: ClassVar[str] = "Hardtanh"
    name: Literal["hardtanh"]
    min_val: Real = -1.0
    max_val: Real = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> "HardtanhSpec":
        if self.max_val <= self.min_val:
            raise ValueError(
                f"max_val ({self.max_val}) must be greater than min_val ({self.min_val}), as "
                "PyTorch requires: swap them"
            )
        return self


class HardshrinkSpec(ActivationSpecBase):
    """torch.nn.Hardshrink: x where |x| > lambd, else 0."""

    TORCH_CLASS: ClassVar[str] = "Hardshrink"
    name: Literal["hardshrink"]
    lambd: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.5


class SoftshrinkSpec(ActivationSpecBase):
    """torch.nn.Softshrink: x - lambd above lambd, x + lambd below -lambd, else 0."""

    TORCH_CLASS: ClassVar[str] = "Softshrink"
    name: Literal["softshrink"]
    lambd: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] = 0.5


class SoftplusSpec(ActivationSpecBase):
    """torch.nn.Softplus: log(1 + exp(beta * x)) / beta, linear above `threshold`."""

    TORCH_CLASS: ClassVar[str] = "Softplus"
    name: Literal["softplus"]
    beta: Real = 1.0
    threshold: Real = 20.0


class SigmoidSpec(ActivationSpecBase):
    """torch.nn.Sigmoid."""

    TORCH_CLASS: ClassVar[str] = "Sigmoid"
    name: Literal["sigmoid"]


class LogSigmoidSpec(ActivationSpecBase):
    """torch.nn.LogSigmoid: log(sigmoid(x))."""

    TORCH_CLASS: ClassVar[str] = "LogSigmoid"
    name: Literal["logsigmoid"]


class TanhSpec(ActivationSpecBase):
    """torch.nn.Tanh."""

    TORCH_CLASS: ClassVar[str] = "Tanh"
    name: Literal["tanh"]


class TanhshrinkSpec(ActivationSpecBase):
    """torch.nn.Tanhshrink: x - tanh(x)."""

    TORCH_CLASS: ClassVar[str] = "Tanhshrink"
    name: Literal["tanhshrink"]


class SoftsignSpec(ActivationSpecBase):
    """torch.nn.Softsign: x / (1 + |x|)."""

    TORCH_CLASS: ClassVar[str] = "Softsign"
    name: Literal["softsign"]


class ThresholdSpec(ActivationSpecBase):
    """torch.nn.Threshold: x above `threshold`, else `value`."""

    TORCH_CLASS: ClassVar[str] = "Threshold"
    name: Literal["threshold"]
    threshold: Real
    value: Real


class GLUSpec(ActivationSpecBase):
    """torch.nn.GLU: a * sigmoid(b), the halves of dimension `dim` (its size must be even)."""

    TORCH_CLASS: ClassVar[str] = "GLU"
    name: Literal["glu"]
    dim: Dim = -1


class SoftmaxSpec(ActivationSpecBase):
    """torch.nn.Softmax; `dim` defaults to -1 (the last dimension), never PyTorch's implicit one."""

    TORCH_CLASS: ClassVar[str] = "Softmax"
    ALWAYS_PASSED: ClassVar[frozenset[str]] = frozenset({"dim"})
    name: Literal["softmax"]
    dim: Dim = -1


class LogSoftmaxSpec(ActivationSpecBase):
    """torch.nn.LogSoftmax; `dim` defaults to -1 (the last dimension)."""

    TORCH_CLASS: ClassVar[str] = "LogSoftmax"
    ALWAYS_PASSED: ClassVar[frozenset[str]] = frozenset({"dim"})
    name: Literal["log_softmax"]
    dim: Dim = -1


class SoftminSpec(ActivationSpecBase):
    """torch.nn.Softmin: softmax(-x); `dim` defaults to -1 (the last dimension)."""

    TORCH_CLASS: ClassVar[str] = "Softmin"
    ALWAYS_PASSED: ClassVar[frozenset[str]] = frozenset({"dim"})
    name: Literal["softmin"]
    dim: Dim = -1


ACTIVATIONS = (
    ReLUSpec,
    ReLU6Spec,
    LeakyReLUSpec,
    PReLUSpec,
    ELUSpec,
    CELUSpec,
    SELUSpec,
    GELUSpec,
    SiLUSpec,
    MishSpec,
    HardswishSpec,
    HardsigmoidSpec,
    HardtanhSpec,
    HardshrinkSpec,
    SoftshrinkSpec,
    SoftplusSpec,
    SigmoidSpec,
    LogSigmoidSpec,
    TanhSpec,
    TanhshrinkSpec,
    SoftsignSpec,
    ThresholdSpec,
    GLUSpec,
    SoftmaxSpec,
    LogSoftmaxSpec,
    SoftminSpec,
)
