"""Helpers for the autograd tests: post a graph, read tensor objects back as torch tensors."""

import base64
from typing import Any

import numpy as np
import torch
from fastapi.testclient import TestClient


def post(client: TestClient, body: dict[str, Any], status: int = 200) -> dict[str, Any]:
    """POST /v1/autograd, check the status, return the JSON body."""
    response = client.post("/v1/autograd", json=body)
    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == "application/problem+json"
    result: dict[str, Any] = response.json()
    return result


def tensor(obj: dict[str, Any]) -> torch.Tensor:
    """The values of a response tensor object (json or base64) as a float32 tensor."""
    if "data_b64" in obj and obj["data_b64"] is not None:
        array = np.frombuffer(base64.b64decode(obj["data_b64"]), dtype="<f4")
    else:
        array = np.array([np.nan if v is None else v for v in obj["data"]], dtype=np.float32)
    return torch.from_numpy(array.copy()).reshape(obj["shape"])


def fields(problem: dict[str, Any]) -> list[str]:
    """The fields a problem names."""
    return [error["field"] for error in problem["errors"]]
