"""Shared pydantic base classes and small reusable field types."""

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Tag


class StrictModel(BaseModel):
    """Base for request models: unknown fields are rejected, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ResponseModel(BaseModel):
    """Base for response models (documentation of what the service returns)."""

    model_config = ConfigDict(extra="forbid")


MAX_DIM_SIZE = 1 << 24
MAX_RANK = 8

Dim = Annotated[int, Field(ge=1, le=MAX_DIM_SIZE)]
"""One dimension of a tensor shape: a positive size."""

Shape = Annotated[list[Dim], Field(min_length=1, max_length=MAX_RANK)]
"""A tensor shape: 1 to 8 positive sizes."""

Seed = Annotated[int, Field(ge=0, le=2**63 - 1)]
"""A seed for torch.manual_seed."""


VARIANT_MARK = "~"
"""Tags of union variants start with this mark, so error locations can leave them out."""


def variant(name: str) -> Tag:
    """Return the pydantic Tag of a union variant (marked, see VARIANT_MARK)."""
    return Tag(VARIANT_MARK + name)
