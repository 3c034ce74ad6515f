"""Where a layer's input comes from: seeded random values or explicit data."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, model_validator

from schemas.base import INTEGRAL, VARIANT_MARK, JsonInt, Seed, Shape, StrictModel, variant
from schemas.images import PreprocessOptions
from schemas.tensors import TensorData

_REQUIRES_GRAD = Field(
    default=None,
    description="Track gradients for this input; default: true for a float input, false for "
    "int64 (integers have no gradient).",
)
MAX_HIGH = 1 << 24


class RandomInput(StrictModel):
    """Seeded values: `torch.manual_seed(seed); torch.randn(*shape)`, then in the request's
    `dtype`; or with `"dtype": "int64"`, integers `torch.randint(0, high, shape)` (indices for
    an embedding)."""

    shape: Shape
    seed: Seed = 0
    requires_grad: bool | None = _REQUIRES_GRAD
    dtype: Literal["int64"] | None = Field(
        default=None, description="`int64` for integers in [0, high); default: the request's."
    )
    high: Annotated[int, Field(ge=1, le=MAX_HIGH), INTEGRAL] | None = Field(
        default=None, description="With int64: values are drawn from 0 to high - 1."
    )

    @model_validator(mode="after")
    def _integers(self) -> "RandomInput":
        if (self.dtype == "int64") != (self.high is not None):
            raise ValueError(
                'give `high` exactly with "dtype": "int64" (integers in [0, high)), e.g. '
                '{"shape": [1, 8], "dtype": "int64", "high": 10}'
            )
        if self.dtype == "int64" and self.requires_grad:
            raise ValueError("an int64 input cannot require grad: set requires_grad false")
        return self


class TensorInput(StrictModel):
    """Explicit values."""

    tensor: TensorData
    requires_grad: bool | None = _REQUIRES_GRAD

    @model_validator(mode="after")
    def _integers(self) -> "TensorInput":
        if self.tensor.dtype == "int64" and self.requires_grad:
            raise ValueError("an int64 input cannot require grad: set requires_grad false")
        return self


MNIST_SPLIT_PATTERN = r"^[a-z]{1,16}$"


class MnistRef(StrictModel):
    """One digit of the MNIST sample set (`GET /v1/mnist` lists the splits and sizes)."""

    split: Annotated[str, Field(pattern=MNIST_SPLIT_PATTERN)] = "test"
    index: JsonInt = Field(ge=0, description="Position in the split, from 0.")


class MnistInput(StrictModel):
    """An MNIST digit, preprocessed as an upload would be: [1, 1, H, W] (default 28x28)."""

    mnist: MnistRef
    preprocess: PreprocessOptions = Field(default_factory=PreprocessOptions)
    requires_grad: bool = Field(default=True, description="Track gradients for this input.")


def key_discriminator(tags: dict[str, str]) -> Any:
    """Build a pydantic callable discriminator that picks a union member by which key is present.

    `tags` maps a key that marks a variant to that variant's tag, in order of precedence.
    """

    def pick(value: Any) -> str | None:
        if isinstance(value, dict):
            keys = value.keys()
        elif isinstance(value, BaseModel):
            keys = type(value).model_fields.keys()
        else:
            return None
        for key, tag in tags.items():
            if key in keys:
                return VARIANT_MARK + tag
        return None

    return Discriminator(
        pick,
        custom_error_type="missing_variant",
        custom_error_message="give an object with one of the keys: " + ", ".join(tags),
    )


InputSpec = Annotated[
    Annotated[RandomInput, variant("random")]
    | Annotated[TensorInput, variant("tensor")]
    | Annotated[MnistInput, variant("mnist")],
    key_discriminator({"tensor": "tensor", "mnist": "mnist", "shape": "random"}),
]
"""The input: `{"shape": [...], "seed": 0}`, `{"tensor": {...}}` or `{"mnist": {...}}`."""
