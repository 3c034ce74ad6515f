"""Shared pydantic base classes and small reusable field types."""

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, Tag


class StrictModel(BaseModel):
    """Base for request models: unknown fields are rejected, not silently ignored, and values
    are taken as the JSON types the schema names: `"yes"` or `1` is no boolean, `false` or
    `"2"` no integer (a JSON integer is still a number)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class ResponseModel(BaseModel):
    """Base for response models (documentation of what the service returns)."""

    model_config = ConfigDict(extra="forbid")


def _integral(value: Any) -> Any:
    """A float with no fractional part as the int it is: JSON (and JSON Schema's `integer`)
    has one number 2 however it is spelled, `2` or `2.0`. Strings, booleans and 2.5 stay as
    they are, for the strict int validator to refuse."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


INTEGRAL = BeforeValidator(_integral)
"""The last metadata of a bounded integer type, `Annotated[int, Field(ge=..., le=...), INTEGRAL]`:
after the bounds, so that they stay `minimum`/`maximum` in the JSON schema."""

JsonInt = Annotated[int, INTEGRAL]
"""An integer field of a request: a JSON integer (`2` or `2.0`); never `"2"`, `true` or 2.5.
Bound it with the field's own `Field(ge=..., le=...)`."""

MAX_DIM_SIZE = 1 << 24
MAX_RANK = 8

Dim = Annotated[int, Field(ge=0, le=MAX_DIM_SIZE), INTEGRAL]
"""One dimension of a tensor shape: a size, 0 for an empty tensor (a zero-size batch)."""

Shape = Annotated[
    list[Dim],
    Field(max_length=MAX_RANK, description="Sizes of the dimensions; [] is a 0-d (scalar) tensor."),
]
"""A tensor shape: 0 to 8 sizes ([] is a scalar, a 0 size an empty tensor), as PyTorch takes."""

MAX_SEED = 2**53 - 1
"""The largest seed: the largest integer that a JSON number holds exactly in every client
(JavaScript's Number.MAX_SAFE_INTEGER), and that the OpenAPI schema can state exactly (FastAPI
writes bounds as floats: 2**63 - 1 would read as 2**63)."""

Seed = Annotated[int, Field(ge=0, le=MAX_SEED), INTEGRAL]
"""A seed for torch.manual_seed."""


def keys_by_pattern(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of a dict field whose keys follow a pattern: say so in JSON Schema's
    terms. Pydantic writes `patternProperties`, which lets keys that miss the pattern through
    with any value; the server refuses them, so the pattern goes to `propertyNames` and the
    values' schema to `additionalProperties`."""
    patterns = schema.pop("patternProperties", {})
    if len(patterns) == 1:
        ((pattern, values),) = patterns.items()
        schema["propertyNames"] = {**schema.get("propertyNames", {}), "pattern": pattern}
        schema["additionalProperties"] = values
    elif patterns:
        schema["patternProperties"] = patterns


VARIANT_MARK = "~"
"""Tags of union variants start with this mark, so error locations can leave them out."""


def variant(name: str) -> Tag:
    """Return the pydantic Tag of a union variant (marked, see VARIANT_MARK)."""
    return Tag(VARIANT_MARK + name)
