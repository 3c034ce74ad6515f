"""Prometheus metrics count what happened."""

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from service.app import create_app
from tests.conftest import make_settings


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_count_requests_jobs_and_rejections() -> None:
    with TestClient(create_app(make_settings())) as c:
        body = {"layer": {"type": "activation", "name": "relu"}, "input": {"shape": [2, 2]}}
        for _ in range(3):
            assert c.post("/v1/layers/inspect", json=body).status_code == 200
        c.post("/v1/layers/inspect", json=body | {"input": {"shape": [100000, 100000]}})
        c.get("/missing")
        samples = _samples(c.get("/metrics").text)
    ok = (
        "layerscope_requests_total",
        (("method", "POST"), ("route", "/v1/layers/inspect"), ("status", "200")),
    )
    assert samples[ok] == 3
    assert (
        samples[
            (
                "layerscope_requests_total",
                (("method", "GET"), ("route", "unmatched"), ("status", "404")),
            )
        ]
        == 1
    )
    assert (
        samples[
            (
                "layerscope_rejections_total",
                (("limit", "elements"), ("reason", "too-many-elements")),
            )
        ]
        == 1
    )
    # every inspect request holds a slot while it plans, the refused one too
    assert samples[("layerscope_torch_job_seconds_count", ())] == 4
    assert (
        samples[("layerscope_request_duration_seconds_count", (("route", "/v1/layers/inspect"),))]
        == 4
    )
    assert samples[("layerscope_requests_in_flight", ())] == 1  # the /metrics request itself


def test_the_docs_routes_are_counted_by_their_path() -> None:
    """The docs pages, the schema and the docs' static files (a mount) are labelled too."""
    with TestClient(create_app(make_settings())) as c:
        assert c.get("/openapi.json").json()["info"]["title"] == "layerscope"
        assert "swagger-ui" in c.get("/docs").text
        assert "redoc" in c.get("/redoc").text
        assert c.get("/docs/assets/swagger-ui.css").status_code == 200
        samples = _samples(c.get("/metrics").text)
    for path in ("/openapi.json", "/docs", "/redoc", "/docs/assets"):
        key = ("layerscope_requests_total", (("method", "GET"), ("route", path), ("status", "200")))
        assert samples[key] == 1
    assert not any(
        labels == (("method", "GET"), ("route", "unmatched"), ("status", "200"))
        for name, labels in samples
        if name == "layerscope_requests_total"
    )
