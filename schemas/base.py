"""Shared pydantic base classes and small reusable field types."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Tag


class StrictModel(BaseModel):
    """Base for request models: unknown fields are rejected, not silently ignored, and values
    are taken as the JSON types the schema names: `"yes"` or `1` is no boolean, `false` or
    `"2"` no integer (a JSON integer is still a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Base for response models (documentation of what the service returns)."""

    model_config = ConfigDict(extra="forbid")


MAX_DIM_SIZE = 1 << 24
MAX_RANK = 8

Dim = Annotated[int, Field(ge=0, le=MAX_DIM_SIZE)]
"""One dimension of a tensor shape: a size, 0 for an empty tensor (a zero-size batch)."""

Shape = Annotated[
    list[Dim],
    Field(max_length=MAX_RANK, description="Sizes of the dimensions; [] is a 0-d (scalar) tensor."),
]
"""A tensor shape: 0 to 8 sizes ([] is a scalar, a 0 size an empty tensor), as PyTorch takes."""

Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
"""A seed for torch.manual_seed."""


VARIANT_MARK = "~"
"""Tags of union variants start with this mark, so error locations can leave them out."""


def variant(name: str) -> Tag:
    """Return the pydantic Tag of a union variant (marked, see VARIANT_MARK)."""
    return Tag(VARIANT_MARK + name)
