"""Where a layer's input comes from: seeded random values or explicit data."""

from typing import Annotated, Any

from pydantic import BaseModel, Discriminator, Field

from schemas.base import VARIANT_MARK, Seed, Shape, StrictModel, variant
from schemas.images import PreprocessOptions
from schemas.tensors import TensorData


class RandomInput(StrictModel):
    """Seeded standard-normal values: equal to `torch.manual_seed(seed); torch.randn(*shape)`."""

    shape: Shape
    seed: Seed = 0
    requires_grad: bool = Field(default=True, description="Track gradients for this input.")


class TensorInput(StrictModel):
    """Explicit values."""

    tensor: TensorData
    requires_grad: bool = Field(default=True, description="Track gradients for this input.")


MNIST_SPLIT_PATTERN = r"^[a-z]{1,16}$"


class MnistRef(StrictModel):
    """One digit of the MNIST sample set (`GET /v1/mnist` lists the splits and sizes)."""

    split: Annotated[str, Field(pattern=MNIST_SPLIT_PATTERN)] = "test"
    index: int = Field(ge=0, description="Position in the split, from 0.")


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
