"""Tensor objects as they travel in requests and responses.

Modelled on MLServer's tensor codecs: a tensor is a shape, a dtype, and its values either as a
flat row-major JSON list (`data`) or as the little-endian raw bytes of the dtype in base64
(`data_b64`).
"""

from typing import Any, Literal

from pydantic import Field, model_validator

from schemas.base import ResponseModel, Shape, StrictModel

FloatDType = Literal["float32", "float64", "bfloat16", "float16"]
"""The dtypes a computation runs in (`dtype` of a request)."""
TensorDType = Literal["float32", "float64", "bfloat16", "float16", "int64"]
"""The dtypes a tensor object may carry: the float dtypes, and int64 (indices, counters)."""
Encoding = Literal["json", "base64", "safetensors"]


class TensorData(StrictModel):
    """Explicit tensor values.

    Give `shape` with flat row-major `data`, or a nested list in `data` with no `shape`
    (the shape is then read off the nesting), or `shape` with `data_b64`: the little-endian
    bytes of `dtype`. JSON `null` in `data` stands for NaN.
    """

    shape: Shape | None = Field(
        default=None, description="Dimensions; omit only when `data` is a nested list."
    )
    data: list[Any] | None = Field(
        default=None,
        description="Values: flat and row-major with `shape`, or nested without it. `null` is NaN.",
    )
    data_b64: str | None = Field(
        default=None,
        description="Base64 of the little-endian raw bytes of `dtype`, row-major; needs `shape`.",
    )
    dtype: TensorDType = Field(
        default="float32",
        description="Dtype of the values (of the raw bytes of `data_b64`). Nothing is converted "
        "silently: a tensor whose dtype is not the computation's is refused unless the request "
        "says `cast: true` (the response then lists the cast). int64 is for indices "
        "(embedding input) and counters (num_batches_tracked).",
    )

    @model_validator(mode="after")
    def _one_source(self) -> "TensorData":
        if (self.data is None) == (self.data_b64 is None):
            raise ValueError("give exactly one of `data` or `data_b64`")
        if self.data_b64 is not None and self.shape is None:
            raise ValueError("`data_b64` needs `shape`: add the tensor's dimensions")
        return self


class TensorStats(ResponseModel):
    """Summary statistics of a tensor. min, max, mean and std are over its finite values
    (null when there are none; std is PyTorch's default, unbiased, null for one value)."""

    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    nan_count: int
    inf_count: int
    zero_fraction: float


class TensorOut(ResponseModel):
    """A tensor in a response: always shape, dtype and stats; values when `include` asks."""

    shape: list[int]
    dtype: str
    stats: TensorStats
    data: list[float | int | None] | None = Field(
        default=None,
        description="Flat row-major values (encoding=json); NaN and ±Inf are null; int64 "
        "tensors as integers; bfloat16 and float16 values exactly as float32 holds them.",
    )
    data_b64: str | None = Field(
        default=None,
        description="Base64 of the little-endian raw bytes of `dtype` (encoding=base64).",
    )
    key: str | None = Field(
        default=None,
        description="encoding=safetensors: the name of this tensor's entry in the body (the "
        "report itself is the header's `__metadata__.report`).",
    )


class GradTensorOut(TensorOut):
    """A tensor that may carry its gradient after a backward pass."""

    grad: TensorOut | None = Field(
        default=None, description="Gradient after a backward pass; null in forward-only runs."
    )


class OutputTensorOut(GradTensorOut):
    """The output of a layer, with its autograd node."""

    grad_fn: str | None = Field(
        description="Class name of the autograd node that made it, e.g. ConvolutionBackward0; "
        "null in forward-only runs."
    )
    requires_grad: bool
