"""Problem details (RFC 9457) for every error the service returns, and the handlers that make them.

Every error leaves as `application/problem+json` with `type`, `title`, `status`, `detail`, an
`errors` list naming the fields at fault and how to fix them, and optional `context` facts.
"""

import email.message
import json
import logging
import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from schemas.base import VARIANT_MARK

log = logging.getLogger("layerscope.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"


class ProblemError(StarletteHTTPException):
    """An error the client can fix, carried to the client as problem details.

    An HTTPException, so that FastAPI passes it through untouched even when raised while the
    request body is read (by the body-limit middleware).
    """

    def __init__(
        self,
        status: int,
        slug: str,
        detail: str,
        *,
        title: str | None = None,
        errors: Sequence[dict[str, Any]] = (),
        context: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        limit: str | None = None,
    ) -> None:
        super().__init__(status, detail, headers)
        self.limit = limit
        self.status = status
        self.slug = slug
        self.title = title or slug.replace("-", " ").capitalize()
        self.detail = detail
        self.errors = list(errors)
        self.context = context


def field_error(
    field: str, message: str, fix: str | None = None, type_: str | None = None
) -> dict[str, Any]:
    """Return one entry of a problem's `errors` list."""
    return {"field": field, "message": message, "fix": fix, "type": type_}


def unprocessable(
    slug: str,
    field: str,
    message: str,
    fix: str | None = None,
    *,
    context: dict[str, Any] | None = None,
) -> ProblemError:
    """Return a 422 problem about one field, its detail being the message and the fix together."""
    detail = f"{message}; {fix}" if fix else message
    return ProblemError(
        422, slug, detail, errors=[field_error(field, message, fix)], context=context
    )


def problem_response(
    status: int,
    *,
    type_: str,
    title: str,
    detail: str,
    instance: str | None = None,
    errors: Sequence[dict[str, Any]] = (),
    context: dict[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Render problem details as an `application/problem+json` response."""
    body: dict[str, Any] = {
        "type": type_,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
        "errors": list(errors),
    }
    if context is not None:
        body["context"] = context
    try:
        content = orjson.dumps(body, default=str)
    except TypeError:  # integers past 64 bits (element counts of absurd shapes)
        content = json.dumps(body, default=str).encode()
    return Response(
        content,
        status_code=status,
        media_type=PROBLEM_MEDIA_TYPE,
        headers=headers,
    )


_FIXES: dict[str, str] = {
    "missing": "add this field",
    "extra_forbidden": "remove this field: it is not an argument here (check its spelling)",
    "literal_error": "use one of the allowed values named in the message",
    "enum": "use one of the allowed values named in the message",
    "union_tag_invalid": "use one of the allowed values named in the message",
    "union_tag_not_found": "add the discriminating field named in the message",
    "missing_variant": "use one of the keys named in the message",
    "missing_layer_type": "set `type` (and `name` for an activation)",
    "greater_than_equal": "use a value within the bounds in the message",
    "greater_than": "use a value within the bounds in the message",
    "less_than_equal": "use a value within the bounds in the message",
    "less_than": "use a value within the bounds in the message",
    "too_short": "give more items, as the message says",
    "too_long": "give fewer items, as the message says",
    "string_pattern_mismatch": "match the pattern in the message",
    "json_invalid": "send a valid JSON document",
    "model_attributes_type": "send a JSON object here",
    "dict_type": "send a JSON object here",
    "list_type": "send a JSON array here",
    "int_type": "send an integer",
    "int_from_float": "send an integer",
    "int_parsing": "send an integer",
    "float_type": "send a number",
    "float_parsing": "send a number",
    "finite_number": "send a finite number",
    "bool_type": "send true or false",
    "bool_parsing": "send true or false",
    "string_type": "send a string",
}


_UNION_MEMBER = re.compile(r"^(constrained-)?(int|float|str|bool|none)$|^[a-z-]+\[.*\]$")
"""Labels pydantic puts in an error's location for union members (`constrained-int`,
`list[constrained-int]`, `literal['same','valid']`): not fields, so left out of paths."""

_TYPE_MISMATCH = re.compile(r"_(type|parsing)$|^literal_error$")


def _field_path(loc: Sequence[int | str]) -> str:
    parts = [
        str(p)
        for p in loc
        if not (isinstance(p, str) and (_UNION_MEMBER.match(p) or p.startswith(VARIANT_MARK)))
    ]
    return ".".join(parts) or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    by_field: dict[str, list[dict[str, Any]]] = {}
    for err in exc.errors():
        message = str(err.get("msg", "invalid value")).removeprefix("Value error, ")
        kind = str(err.get("type", ""))
        field = _field_path(err.get("loc", ()))
        fix = _FIXES.get(kind)
        if field == "body" and kind == "missing":
            message, fix = "the request has no body", "send the request as a JSON object"
        by_field.setdefault(field, []).append(
            {"field": field, "message": message, "fix": fix, "type": kind}
        )
    problems = []
    for entries in by_field.values():
        # For a union (an int or a pair), a bound broken by the value the client meant says
        # more than "not a list": prefer errors that are not plain type mismatches.
        meant = [e for e in entries if not _TYPE_MISMATCH.search(e["type"])] or entries
        first = dict(meant[0])
        if len(meant) > 1:
            first["message"] = " or ".join(dict.fromkeys(e["message"] for e in meant))
        problems.append(first)
    return problems


SNIPPET_RADIUS = 30
"""Characters of the offending line shown on each side of a JSON syntax error."""


def json_syntax_context(doc: str, pos: int) -> dict[str, Any]:
    """Where a JSON syntax error lies in `doc`: line and column (from 1, as `json` counts
    them) and a snippet of that line with a caret under the spot."""
    line = doc.count("\n", 0, pos) + 1
    start = doc.rfind("\n", 0, pos) + 1
    end = doc.find("\n", pos)
    text = doc[start : len(doc) if end == -1 else end]
    column = pos - start + 1
    left = max(0, column - 1 - SNIPPET_RADIUS)
    shown = text[left : column - 1 + SNIPPET_RADIUS]
    return {
        "line": line,
        "column": column,
        "snippet": shown + "\n" + " " * (column - 1 - left) + "^",
    }


def _json_syntax_problem(request: Request, exc: RequestValidationError) -> Response | None:
    """The 422 for a body that is not valid JSON, naming line, column and a snippet (FastAPI
    reports only a character offset), or None when the body parsed."""
    errors = exc.errors()
    if len(errors) != 1 or errors[0].get("type") != "json_invalid":
        return None
    loc = errors[0].get("loc", ())
    pos = loc[-1] if loc and isinstance(loc[-1], int) else 0
    doc = exc.body if isinstance(exc.body, str) else ""
    where = json_syntax_context(doc, pos)
    reason = str(errors[0].get("ctx", {}).get("error", "invalid JSON"))
    message = f"invalid JSON: {reason} at line {where['line']}, column {where['column']}"
    return problem_response(
        422,
        type_=PROBLEM_BASE + "invalid-json",
        title="Invalid JSON",
        detail=f"{message}:\n{where['snippet']}",
        instance=request.url.path,
        errors=[field_error("body", message, _FIXES["json_invalid"], "json_invalid")],
        context=where,
    )


def is_json_media_type(content_type: str | None) -> bool:
    """Whether a Content-Type names JSON (`application/json`, `application/*+json`), as
    FastAPI decides whether to parse a body as JSON."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


_NOT_AN_OBJECT = {"model_attributes_type", "dict_type"}


def _unsupported_media_type(request: Request, exc: RequestValidationError) -> Response | None:
    """The 415 for a JSON route's body sent without a JSON content type (FastAPI then leaves
    the body unparsed, and pydantic would say only "Input should be a valid dictionary")."""
    content_type = request.headers.get("content-type")
    if is_json_media_type(content_type) or not any(
        tuple(err.get("loc", ())) == ("body",) and err.get("type") in _NOT_AN_OBJECT
        for err in exc.errors()
    ):
        return None
    sent = f"is `{content_type}`" if content_type else "is missing"
    fix = "send the body with `content-type: application/json`"
    message = f"this route takes a JSON body, but the request's content type {sent}"
    return problem_response(
        415,
        type_=PROBLEM_BASE + "unsupported-media-type",
        title="Unsupported media type",
        detail=f"{message}; {fix}",
        instance=request.url.path,
        errors=[field_error("header.content-type", message, fix)],
        headers={"Accept-Post": "application/json"},
    )


async def _problem_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    if exc.limit is not None and hasattr(request.app.state, "metrics"):
        request.app.state.metrics.reject(exc.limit, exc.slug)
    return problem_response(
        exc.status,
        type_=PROBLEM_BASE + exc.slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        errors=exc.errors,
        context=exc.context,
        headers=exc.headers,
    )


def validation_problem(exc: RequestValidationError) -> tuple[str, list[dict[str, Any]]]:
    """The detail and the `errors` list of the 422 problem answered for `exc`: one entry per
    field (its message and, where known, the fix), the detail naming the first."""
    errors = _validation_errors(exc)
    first = errors[0] if errors else {"field": "body", "message": "invalid request"}
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{first['field']}: {first['message']}{more}", errors


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    special = _unsupported_media_type(request, exc) or _json_syntax_problem(request, exc)
    if special is not None:
        return special
    detail, errors = validation_problem(exc)
    return problem_response(
        422,
        type_=PROBLEM_BASE + "invalid-request",
        title="Invalid request",
        detail=detail,
        instance=request.url.path,
        errors=errors,
    )


async def _http_error_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    if exc.status_code == 404 and detail == phrase:
        detail = f"No route at {request.url.path}; see /docs for the routes there are."
    if exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The body could not be read as JSON (is it UTF-8?); send UTF-8 encoded JSON."
    if exc.status_code == 405 and detail == phrase:
        detail = f"{request.method} is not allowed on {request.url.path}; see /docs."
    return problem_response(
        exc.status_code,
        type_="about:blank",
        title=phrase,
        detail=detail,
        instance=request.url.path,
        headers=getattr(exc, "headers", None),
    )


async def _unexpected_handler(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem_response(
        500,
        type_=PROBLEM_BASE + "internal-error",
        title="Internal error",
        detail="The service failed on this request; it has been logged. Please report it.",
        instance=request.url.path,
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make every error of `app` leave as problem details."""
    app.add_exception_handler(ProblemError, _problem_error_handler)
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_error_handler)
    app.add_exception_handler(Exception, _unexpected_handler)


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": HTTPStatus(status).phrase + " (problem details)",
        "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status in (400, 413, 422, 503)
}
"""OpenAPI `responses` entries for routes that may answer with problem details (401, only
when API keys are set, is added by the app)."""
