"""schemas/problems.py: the Problem model describes the errors the service really returns."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from schemas.problems import FieldProblem, Problem


def test_a_real_422_validates_as_a_problem(client: TestClient) -> None:
    r = client.post("/v1/layers/inspect", json={"layer": {"type": "flatten"}, "input": {}})
    problem = Problem.model_validate(r.json())
    assert problem.status == 422 == r.status_code
    assert problem.type == "/problems/invalid-request"
    assert problem.errors[0].field == "body.input"
    assert problem.errors[0].type == "missing_variant"


def test_a_real_413_validates_with_context(client: TestClient) -> None:
    r = client.post(
        "/v1/layers/inspect",
        json={"layer": {"type": "flatten"}, "input": {"shape": [4096, 4096, 2]}},
    )
    problem = Problem.model_validate(r.json())
    assert problem.status == 413
    assert problem.context is not None and problem.context["elements"] == 4096 * 4096 * 2


def test_defaults_and_strictness() -> None:
    p = Problem(type="about:blank", title="t", status=400, detail="d")
    assert (p.instance, p.errors, p.context) == (None, [], None)
    f = FieldProblem(field="body.x", message="m")
    assert (f.fix, f.type) == (None, None)
    with pytest.raises(ValidationError):
        Problem.model_validate({"type": "t", "title": "t", "status": 1, "detail": "d", "x": 1})
