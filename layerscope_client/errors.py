"""The one exception the client raises for an error response: its status and problem details."""

from http import HTTPStatus

import httpx
from pydantic import ValidationError

from schemas.problems import Problem

PROBLEM_MEDIA_TYPE = "application/problem+json"


class LayerscopeError(Exception):
    """An error response of the service: `status`, the parsed RFC 9457 `problem` (with its
    `errors`, each naming a field and its fix) and the `response` itself. The message is the
    status, the title and the detail, then one line per field with its fix.

    A body that is not problem details (a proxy's error page, say) becomes a problem of type
    `about:blank` whose detail is the start of the body.
    """

    def __init__(self, problem: Problem, response: httpx.Response | None = None) -> None:
        self.problem = problem
        self.status = problem.status
        self.response = response
        super().__init__(message(problem))

    @classmethod
    def from_response(cls, response: httpx.Response) -> "LayerscopeError":
        """The error an error response stands for."""
        return cls(problem_of(response), response)


def message(problem: Problem) -> str:
    """`422 Input does not fit the layer: <detail>`, then `  body.layer: <message> (fix: ...)`
    for each field."""
    lines = [f"{problem.status} {problem.title}: {problem.detail}"]
    for error in problem.errors:
        fix = f" (fix: {error.fix})" if error.fix else ""
        lines.append(f"  {error.field}: {error.message}{fix}")
    return "\n".join(lines)


def problem_of(response: httpx.Response) -> Problem:
    """The problem details of an error response; `about:blank` with the body's start when the
    body is not problem details."""
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if media in (PROBLEM_MEDIA_TYPE, "application/json"):
        try:
            return Problem.model_validate_json(response.content)
        except ValidationError:
            pass
    try:
        title = HTTPStatus(response.status_code).phrase
    except ValueError:
        title = "Error"
    try:
        instance: str | None = response.request.url.path
    except RuntimeError:  # a response made without a request
        instance = None
    return Problem(
        type="about:blank",
        title=title,
        status=response.status_code,
        detail=response.text[:500] or title,
        instance=instance,
    )
