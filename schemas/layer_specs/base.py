"""What every layer spec shares: the torch.nn class it names, its constructor arguments, and
the small argument types (sizes, windows, int-or-tuple) the families are made of."""

from typing import Annotated, Any, ClassVar

from pydantic import Field

from schemas.base import INTEGRAL, MAX_RANK, StrictModel

MAX_CHANNELS = 65536
"""Most channels (or features) a layer may have."""
MAX_WINDOW = 1024
"""Largest kernel, stride, dilation or padding."""
MAX_FEATURES = 1 << 24
"""Largest feature count of a linear or embedding layer."""

Channels = Annotated[int, Field(ge=1, le=MAX_CHANNELS), INTEGRAL]
Features = Annotated[int, Field(ge=1, le=MAX_FEATURES), INTEGRAL]
Window = Annotated[int, Field(ge=1, le=MAX_WINDOW), INTEGRAL]
Padding = Annotated[int, Field(ge=0, le=MAX_WINDOW), INTEGRAL]
Dim = Annotated[int, Field(ge=-MAX_RANK, le=MAX_RANK - 1), INTEGRAL]
"""A dimension index, negative from the end, as PyTorch takes it."""
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
Positive = Annotated[float, Field(gt=0.0, allow_inf_nan=False)]
Real = Annotated[float, Field(allow_inf_nan=False)]


Window1 = Window | Annotated[list[Window], Field(min_length=1, max_length=1)]
Window2 = Window | Annotated[list[Window], Field(min_length=2, max_length=2)]
Window3 = Window | Annotated[list[Window], Field(min_length=3, max_length=3)]
"""An int, or a list of N ints (one per spatial dimension), as PyTorch's `_ntuple` takes it."""
Padding1 = Padding | Annotated[list[Padding], Field(min_length=1, max_length=1)]
Padding2 = Padding | Annotated[list[Padding], Field(min_length=2, max_length=2)]
Padding3 = Padding | Annotated[list[Padding], Field(min_length=3, max_length=3)]


def ntuple(value: int | float | list[Any] | tuple[Any, ...], n: int) -> tuple[Any, ...]:
    """An int-or-tuple argument as an `n`-tuple, as torch's `_ntuple` makes it."""
    if isinstance(value, list | tuple):
        return tuple(value)
    return (value,) * n


class LayerSpecBase(StrictModel):
    """Base of every layer spec: one `torch.nn` class and its constructor's keyword arguments.

    `TORCH_CLASS` names the class in `torch.nn`; `SPATIAL_DIMS` is how many trailing
    dimensions the layer treats as space (1 for conv1d, 2 for conv2d, ...), or None.
    """

    TORCH_CLASS: ClassVar[str]
    SPATIAL_DIMS: ClassVar[int | None] = None
    TAG_FIELDS: ClassVar[tuple[str, ...]] = ("type",)
    ALWAYS_PASSED: ClassVar[frozenset[str]] = frozenset()
    """Fields passed even at their default (where layerscope's default is not PyTorch's)."""

    def label(self) -> str:
        """A short name for messages: the type, or the activation's name."""
        return str(getattr(self, "name", getattr(self, "type", type(self).__name__)))

    def arguments(self) -> dict[str, Any]:
        """The constructor's keyword arguments: the fields that differ from PyTorch's defaults
        (so older PyTorch releases without a newer argument still build the default), lists as
        tuples."""
        given = self.model_dump(exclude_defaults=True, exclude=set(self.TAG_FIELDS))
        given |= {key: getattr(self, key) for key in self.ALWAYS_PASSED}
        return {key: tuple(v) if isinstance(v, list) else v for key, v in given.items()}
