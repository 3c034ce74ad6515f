"""API keys: /v1 needs a valid bearer key when keys are set; health and docs stay open."""

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

from service.app import create_app
from service.auth import key_matches
from tests.conftest import make_settings

BODY = {"layer": {"type": "activation", "name": "tanh"}, "input": {"tensor": {"data": [0.5]}}}
TANH = torch.tanh(torch.tensor([0.5]))  # what BODY's output must be


def ran(response: Any) -> bool:
    """The request ran the layer: a 200 whose output is PyTorch's tanh(0.5)."""
    if response.status_code != 200:
        return False
    return torch.equal(torch.tensor(response.json()["output"]["data"]), TANH)


@pytest.fixture(scope="module")
def keyed() -> Iterator[TestClient]:
    app = create_app(make_settings(api_keys="alpha-key, beta-key"))
    with TestClient(app) as c:
        app.state.runtime.ready.wait(30)
        yield c


def test_key_matches() -> None:
    assert key_matches("b", ["a", "b"])
    assert not key_matches("c", ["a", "b"])
    assert not key_matches("", ["a"])


def test_missing_key_is_401_with_challenge(keyed: TestClient) -> None:
    r = keyed.post("/v1/layers/inspect", json=BODY)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["type"] == "/problems/unauthorized"
    assert keyed.get("/v1/info").status_code == 401


def test_wrong_key_is_401(keyed: TestClient) -> None:
    r = keyed.post("/v1/layers/inspect", json=BODY, headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


@pytest.mark.parametrize("key", ["alpha-key", "beta-key"])
def test_valid_key_passes(keyed: TestClient, key: str) -> None:
    r = keyed.post("/v1/layers/inspect", json=BODY, headers={"Authorization": f"Bearer {key}"})
    assert ran(r), r.text


def test_health_ready_docs_metrics_stay_open(keyed: TestClient) -> None:
    assert keyed.get("/healthz").json() == {"status": "ok"}
    assert keyed.get("/readyz").json() == {"status": "ready"}
    assert keyed.get("/openapi.json").json()["info"]["title"] == "layerscope"
    docs = keyed.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "layerscope_rejections_total" in keyed.get("/metrics").text


def test_docs_can_be_closed() -> None:
    app = create_app(make_settings(api_keys="k", docs_public=False))
    with TestClient(app) as c:
        assert c.get("/openapi.json").status_code == 401
        assert c.get("/docs").status_code == 401
        auth = {"Authorization": "Bearer k"}
        assert c.get("/openapi.json", headers=auth).json()["info"]["title"] == "layerscope"
        assert "swagger" in c.get("/docs", headers=auth).text.lower()


def test_no_keys_means_open(client: TestClient) -> None:
    assert ran(client.post("/v1/layers/inspect", json=BODY))


def _operations(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(path, op) for path, ops in spec["paths"].items() for op in ops.values()]


def test_schema_declares_bearer_auth_exactly_when_keys_are_set(
    keyed: TestClient, client: TestClient
) -> None:
    """With keys, every /v1 operation declares bearer auth and its 401; without, none does:
    the schema says what the server does (generated clients and schemathesis trust it)."""
    spec = keyed.get("/openapi.json").json()
    schemes = spec["components"]["securitySchemes"]
    assert [s["scheme"] for s in schemes.values()] == ["bearer"]
    (name,) = schemes
    for path, op in _operations(spec):
        if path.startswith("/v1"):
            assert op["security"] == [{name: []}], path
            assert "401" in op["responses"], path
        else:
            assert "security" not in op and "401" not in op["responses"], path
    open_spec = client.get("/openapi.json").json()
    assert "securitySchemes" not in open_spec.get("components", {})
    for path, op in _operations(open_spec):
        assert "security" not in op and "401" not in op["responses"], path
