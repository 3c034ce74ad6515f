"""Request bodies: a `schemas` request model, or a plain dict validated into one.

A model is sent as the fields it was given (`exclude_unset`), so the service sees what the
caller wrote and applies its own defaults. A dict the schemas refuse is sent as it is: the
service then answers with problem details that name the field and its fix, and the client
raises them as `LayerscopeError`, the same as for any other refusal.
"""

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

RequestT = TypeVar("RequestT", bound=BaseModel)

Request = BaseModel | Mapping[str, Any]
"""A request: its `schemas` model, or the same as a dict (JSON's shape)."""

PLACEHOLDER_INPUT: dict[str, Any] = {"shape": [1, 1, 28, 28]}
"""An input that stands in, for validation only, for the uploaded images of a form."""


def body_of(model: type[RequestT], request: Request, *, uploaded: bool = False) -> dict[str, Any]:
    """The JSON body of `request`, a `model` or a dict validated as one. `uploaded`: the input
    is uploaded images, so the body goes without `input` (a dict that holds one keeps it, for
    the service to refuse)."""
    if isinstance(request, BaseModel):
        if not isinstance(request, model):
            raise TypeError(f"expected {model.__name__} or a dict, not {type(request).__name__}")
        body = request.model_dump(mode="json", exclude_unset=True)
        if uploaded:
            body.pop("input", None)
        return body
    given = dict(request)
    probe = {"input": PLACEHOLDER_INPUT, **given} if uploaded else given
    try:
        validated = model.model_validate(probe)
    except ValidationError:
        return given
    body = validated.model_dump(mode="json", exclude_unset=True)
    if uploaded and "input" not in given:
        body.pop("input", None)
    return body


def with_encoding(body: dict[str, Any], default: str) -> dict[str, Any]:
    """`body` with `encoding: default` unless it names an encoding itself."""
    return body if "encoding" in body else {**body, "encoding": default}
