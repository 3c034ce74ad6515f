"""GET /healthz, /readyz and /v1/info."""

import torch
import torchvision
from fastapi.testclient import TestClient

from service.app import create_app
from service.devices import available_devices
from tests.conftest import make_settings


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_until_warm_up() -> None:
    app = create_app(make_settings())
    with TestClient(app) as c:
        app.state.runtime.ready.wait(30)
        app.state.runtime.ready.clear()
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.json()["type"] == "/problems/not-ready"


def test_info_reports_versions_devices_limits(client: TestClient) -> None:
    info = client.get("/v1/info").json()
    assert info["torch"] == torch.__version__
    assert info["torchvision"] == torchvision.__version__
    assert info["cuda"] == torch.version.cuda
    assert info["devices"] == available_devices()
    assert info["default_device"] == "cpu"
    assert info["limits"]["max_tensor_elements"] == make_settings().max_tensor_elements


def test_openapi_documents_every_route_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert op.get("description"), (method, path)
    body = spec["paths"]["/v1/layers/inspect"]["post"]["requestBody"]
    examples = body["content"]["application/json"]["examples"]
    assert len(examples) >= 5
    problem = spec["paths"]["/v1/layers/inspect"]["post"]["responses"]["422"]
    assert "application/problem+json" in problem["content"]
