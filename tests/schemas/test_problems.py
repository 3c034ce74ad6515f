"""schemas/problems.py: the Problem model describes the errors the service really returns."""

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from schemas.problems import Problem


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


def test_a_real_404_validates_with_no_field_errors_and_no_context(client: TestClient) -> None:
    r = client.get("/v1/nothing-here")
    problem = Problem.model_validate(r.json())
    assert (problem.status, problem.type, problem.instance) == (404, "about:blank", r.url.path)
    assert (problem.errors, problem.context) == ([], None)
    # The model is strict: a field the service does not send is refused.
    with pytest.raises(ValidationError):
        Problem.model_validate(r.json() | {"x": 1})
