"""Where a layer's input comes from: seeded random values or explicit data."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, field_validator, model_validator

from schemas.base import INTEGRAL, VARIANT_MARK, Seed, Shape, StrictModel, variant
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


MAX_BATCH = 4096
"""Hard cap on the samples of one batch; the service's LAYERSCOPE_MAX_BATCH_SIZE (default 256)
is usually lower and is checked before any digit is read."""

Position = Annotated[int, Field(ge=0), INTEGRAL]
_LOADER_FIELDS = ("shuffle", "seed", "batch", "drop_last")


class MnistRef(StrictModel):
    """Which MNIST digits: one (`index`), several in a given order (`indices`), or the batch a
    `DataLoader` yields (`batch_size`, with `shuffle`, `seed`, `batch` and `drop_last`). Give
    exactly one of `index`, `indices`, `batch_size`. `GET /v1/mnist` lists the splits and sizes.

    A batch is `next(itertools.islice(DataLoader(dataset, batch_size=batch_size,
    shuffle=shuffle, drop_last=drop_last, generator=torch.Generator().manual_seed(seed)),
    batch, None))` over the whole split: the same digits in the same order as the seed's
    DataLoader with that generator."""

    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {"required": ["index"]},
                {"required": ["indices"]},
                {"required": ["batch_size"]},
            ]
        }
    )

    split: Annotated[str, Field(pattern=MNIST_SPLIT_PATTERN)] = "test"
    index: Position | None = Field(
        default=None,
        description="One digit: its position in the split, from 0; the input is [1, 1, H, W]. "
        "For several digits use `indices`.",
    )
    indices: Annotated[list[Position], Field(min_length=1, max_length=MAX_BATCH)] | None = Field(
        default=None,
        description="Several digits, in this order: the input is [len(indices), 1, H, W].",
    )
    batch_size: Annotated[int, Field(ge=1, le=MAX_BATCH), INTEGRAL] | None = Field(
        default=None,
        description="A batch as `DataLoader(dataset, batch_size, shuffle, drop_last, "
        "generator=torch.Generator().manual_seed(seed))` yields it: [batch_size, 1, H, W] "
        "(the last batch may be smaller unless `drop_last`).",
    )
    shuffle: bool = Field(default=False, description="With `batch_size`: DataLoader's shuffle.")
    seed: Seed = Field(
        default=0,
        description="With `batch_size`: the DataLoader's generator is "
        "`torch.Generator().manual_seed(seed)`.",
    )
    batch: Position = Field(
        default=0,
        description="With `batch_size`: which batch the DataLoader yields, from 0 "
        "(`GET /v1/mnist/{split}/batch` says how many there are).",
    )
    drop_last: bool = Field(default=False, description="With `batch_size`: DataLoader's drop_last.")

    @field_validator("index", mode="before")
    @classmethod
    def _one_index(cls, value: Any) -> Any:
        if isinstance(value, list):
            raise ValueError(
                f"`index` takes one position; for several digits use `indices`, e.g. "
                f'{{"indices": {value[:8]}}}'
            )
        return value

    @model_validator(mode="after")
    def _one_selector(self) -> "MnistRef":
        given = [
            name for name in ("index", "indices", "batch_size") if getattr(self, name) is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of `index` (one digit), `indices` (a list, in order) or "
                "`batch_size` (a DataLoader batch)"
                + (f"; got {' and '.join(given)}" if given else "")
            )
        defaults = type(self).model_fields
        loader = [
            name
            for name in _LOADER_FIELDS
            if name in self.model_fields_set and getattr(self, name) != defaults[name].default
        ]
        if loader and self.batch_size is None:
            names = ", ".join(f"`{name}`" for name in loader)
            raise ValueError(
                f"{names} {'goes' if len(loader) == 1 else 'go'} only with `batch_size` (a "
                "DataLoader batch); add `batch_size` or leave "
                + ("it out" if len(loader) == 1 else "them out")
            )
        return self

    @property
    def count(self) -> int:
        """How many digits at most this asks for (the batch's size before the split is read)."""
        if self.indices is not None:
            return len(self.indices)
        return self.batch_size if self.batch_size is not None else 1


class MnistInput(StrictModel):
    """MNIST digits as the seed prepares them: each digit `ToTensor()` then
    `Normalize((mean,), (std,))` (default (0.5,), (1.0,)), stacked by `default_collate` into
    [N, 1, 28, 28], and the digits' labels beside the response (`labels`). The other
    `preprocess` steps are those of an upload and leave a 28x28 digit as it is unless `size`
    asks for another size (a Resize of each digit before ToTensor)."""

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
