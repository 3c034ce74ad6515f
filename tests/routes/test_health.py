"""GET /healthz and /readyz (service/routes/health.py)."""

from fastapi.testclient import TestClient

from service.app import create_app
from tests.conftest import make_settings


def test_health_and_ready(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_not_ready_is_a_503_naming_the_device_and_health_stays_ok() -> None:
    app = create_app(make_settings())
    with TestClient(app) as c:
        app.state.runtime.ready.wait(30)
        app.state.runtime.ready.clear()
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.headers["retry-after"] == "1"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json() == {
            "type": "/problems/not-ready",
            "title": "Not ready",
            "status": 503,
            "detail": "warming up device cpu; retry shortly",
            "instance": "/readyz",
            "errors": [],
        }
        assert c.get("/healthz").json() == {"status": "ok"}
        app.state.runtime.ready.set()
        assert c.get("/readyz").json() == {"status": "ready"}
