"""RFC 9457 problem details: the one error format of every error response."""

from typing import Any

from pydantic import ConfigDict, Field

from schemas.base import ResponseModel

SENT_ALWAYS = ConfigDict(extra="forbid", json_schema_serialization_defaults_required=True)
"""Every field is in every response, its default included: required in the schema of what the
service sends (`mode="serialization"`), so generated clients need not test for it."""


def _context_may_be_absent(schema: dict[str, Any]) -> None:
    schema["required"] = [name for name in schema.get("required", []) if name != "context"]


class FieldProblem(ResponseModel):
    """One problem with one field of the request."""

    model_config = SENT_ALWAYS

    field: str = Field(description="Dotted path of the field, e.g. `body.layer.in_features`.")
    message: str
    fix: str | None = Field(default=None, description="What to change.")
    type: str | None = Field(default=None, description="Machine-readable kind of problem.")


class Problem(ResponseModel):
    """An error, as `application/problem+json` (RFC 9457). `context` is there only when the
    problem has facts to give."""

    model_config = ConfigDict(**SENT_ALWAYS, json_schema_extra=_context_may_be_absent)

    type: str = Field(description="URI naming the kind of problem.")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldProblem] = Field(default_factory=list)
    context: dict[str, Any] | None = Field(
        default=None, description="Facts behind the problem (shapes, indices, limits)."
    )
