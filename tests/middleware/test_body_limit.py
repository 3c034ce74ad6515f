"""Body size and JSON depth are refused as the body streams in, before parsing."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.middleware.body_limit import DepthCounter
from tests.conftest import make_settings

LAYER = {"type": "activation", "name": "relu"}


@pytest.fixture(scope="module")
def small() -> Iterator[TestClient]:
    app = create_app(make_settings(max_body_bytes=4096, max_json_depth=8))
    with TestClient(app) as c:
        yield c


def test_depth_counter_across_chunks() -> None:
    counter = DepthCounter()
    counter.feed(b'{"a": [[1, ')
    assert counter.depth == 3
    assert counter.feed(b"2]], [[[") == 4
    assert counter.feed(b"]]]}") == 4
    assert counter.depth == 0


def test_declared_content_length_over_limit_is_413_unread(small: TestClient) -> None:
    r = small.post(
        "/v1/layers/inspect",
        content=b"x" * 10,
        headers={"content-type": "application/json", "content-length": str(10**9)},
    )
    assert r.status_code == 413
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/problems/body-too-large"
    assert r.json()["context"] == {"limit": 4096, "setting": "LAYERSCOPE_MAX_BODY_BYTES"}
    assert "(LAYERSCOPE_MAX_BODY_BYTES)" in r.json()["detail"]
    assert "1,000,000,000" in r.json()["detail"]


def test_chunked_body_over_limit_is_413(small: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"layer": {"type": "activation", "name": "relu"}, "input": {"tensor": {"data": ['
        for _ in range(200):
            yield b"1.0, " * 20
        yield b"1.0]}}}"

    r = small.post(
        "/v1/layers/inspect", content=chunks(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["type"] == "/problems/body-too-large"
    assert "sends more than" in r.json()["detail"]


def test_deep_nesting_is_refused_before_parsing(small: TestClient) -> None:
    body = '{"layer": {"type": "activation", "name": "relu"}, "input": {"tensor": {"data": '
    body += "[" * 20 + "1" + "]" * 20 + "}}}"
    r = small.post(
        "/v1/layers/inspect", content=body.encode(), headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["type"] == "/problems/too-deeply-nested"


def test_within_limits_still_works(small: TestClient) -> None:
    r = small.post(
        "/v1/layers/inspect", json={"layer": LAYER, "input": {"tensor": {"data": [[-1.0, 2.0]]}}}
    )
    assert r.status_code == 200
    assert r.json()["output"]["data"] == [0.0, 2.0]
