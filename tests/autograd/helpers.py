"""Helpers for the autograd tests: post a graph, read the fields a problem names."""

from typing import Any

from fastapi.testclient import TestClient


def post(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """POST /v1/autograd, check the status, return the JSON body."""
    response = client.post("/v1/autograd", json=body)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    result: dict[str, Any] = response.json()
    return result


def fields(problem: dict[str, Any]) -> list[str]:
    """The fields a problem names."""
    return [error["field"] for error in problem["errors"]]
