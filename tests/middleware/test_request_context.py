"""X-Request-ID on every response, echoed or made; one JSON log line per request."""

import json
import logging

import pytest
from fastapi.testclient import TestClient

from service.logs import JsonFormatter
from service.middleware.request_context import request_id_from


def test_request_id_echoed_or_generated(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert len(generated) == 32 and int(generated, 16) >= 0
    assert client.get("/nowhere").headers["x-request-id"]
    bad = client.get("/healthz", headers={"X-Request-ID": "has spaces\tand tabs"})
    assert bad.headers["x-request-id"] != "has spaces\tand tabs"


def test_request_id_from_rejects_junk() -> None:
    assert request_id_from({"headers": [(b"x-request-id", b"ok.id:1")]}) == "ok.id:1"
    assert len(request_id_from({"headers": [(b"x-request-id", b"x" * 500)]})) == 32


def test_one_json_log_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("layerscope")
    formatter = next(h.formatter for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.INFO, logger="layerscope.access"):
            client.get("/v1/info", headers={"X-Request-ID": "log-me"})
    finally:
        logger.removeHandler(caplog.handler)
    lines = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "layerscope.access"
    ]
    mine = [line for line in lines if line["request_id"] == "log-me"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1/info" and mine[0]["status"] == 200
    assert mine[0]["duration_ms"] >= 0
    assert mine[0]["msg"] == "request" and mine[0]["level"] == "info"
