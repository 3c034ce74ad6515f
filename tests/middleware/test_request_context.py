"""X-Request-ID on every response, echoed or made; one JSON log line per request."""

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from service.logs import JsonFormatter
from service.middleware import request_context
from service.middleware.request_context import request_id_from
from tests.helpers import FakeClock

GENERATED = re.compile(r"[0-9a-f]{32}")  # uuid4().hex


def test_request_id_echoed_or_generated(client: TestClient) -> None:
    r = client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(generated)
    again = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(again) and again != generated  # a new id per request
    assert GENERATED.fullmatch(client.get("/nowhere").headers["x-request-id"])
    bad = client.get("/healthz", headers={"X-Request-ID": "has spaces\tand tabs"})
    assert GENERATED.fullmatch(bad.headers["x-request-id"])  # junk is replaced by a new id


def test_request_id_from_rejects_junk() -> None:
    assert request_id_from({"headers": [(b"x-request-id", b"ok.id:1")]}) == "ok.id:1"
    assert GENERATED.fullmatch(request_id_from({"headers": [(b"x-request-id", b"x" * 500)]}))
    assert GENERATED.fullmatch(request_id_from({"headers": []}))


def test_one_json_log_line_per_request(
    client: TestClient, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = logging.getLogger("layerscope")
    formatter = next(h.formatter for h in logger.handlers if isinstance(h.formatter, JsonFormatter))
    logger.addHandler(caplog.handler)
    clock = FakeClock(100.0, 100.0375)  # the request's start and end, as the middleware reads them
    monkeypatch.setattr(request_context, "time", clock)
    try:
        with caplog.at_level(logging.INFO, logger="layerscope.access"):
            client.get("/v1/info", headers={"X-Request-ID": "log-me"})
    finally:
        logger.removeHandler(caplog.handler)
    assert clock.readings == []
    lines = [
        json.loads(formatter.format(r)) for r in caplog.records if r.name == "layerscope.access"
    ]
    mine = [line for line in lines if line["request_id"] == "log-me"]
    assert len(mine) == 1
    assert mine[0]["route"] == "/v1/info" and mine[0]["status"] == 200
    assert mine[0]["duration_ms"] == 37.5
    assert mine[0]["msg"] == "request" and mine[0]["level"] == "info"
