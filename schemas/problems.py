"""RFC 9457 problem details: the one error format of every error response."""

from typing import Any

from pydantic import Field

from schemas.base import ResponseModel


class FieldProblem(ResponseModel):
    """One problem with one field of the request."""

    field: str = Field(description="Dotted path of the field, e.g. `body.layer.in_features`.")
    message: str
    fix: str | None = Field(default=None, description="What to change.")
    type: str | None = Field(default=None, description="Machine-readable kind of problem.")


class Problem(ResponseModel):
    """An error, as `application/problem+json` (RFC 9457)."""

    type: str = Field(description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
    context: dict[str, Any] | None = Field(
        default=None, description="Facts behind the problem (shapes, indices, limits)."
    )
