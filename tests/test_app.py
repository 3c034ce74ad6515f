"""create_app (service/app.py): middleware order, CORS, and the OpenAPI schema it documents."""

import subprocess
import sys
from typing import Any

from fastapi.testclient import TestClient

from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from schemas.examples import LAYER_EXAMPLES, MODEL_EXAMPLES, SUMMARY_EXAMPLES
from schemas.explain_examples import ATTRIBUTE_EXAMPLES, RECEPTIVE_FIELD_EXAMPLES, SWEEP_EXAMPLES
from service.app import API_ROUTERS, OPEN_ROUTERS, create_app
from service.errors import PROBLEM_MEDIA_TYPE
from tests.conftest import make_settings

RELU = {"layer": {"type": "activation", "name": "relu"}, "input": {"shape": [2]}}


def test_openapi_documents_every_route_with_examples(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert op.get("summary"), (method, path)
            assert op.get("description"), (method, path)
    with_examples = {
        path: sorted(op["requestBody"]["content"]["application/json"].get("examples", {}))
        for path, ops in spec["paths"].items()
        for op in ops.values()
        if "application/json" in op.get("requestBody", {}).get("content", {})
    }
    # Every JSON route documents the worked examples of its schemas module; render routes
    # take the inspect examples' bodies plus a view, and document none of their own.
    assert with_examples == {
        "/v1/layers/inspect": sorted(LAYER_EXAMPLES),
        "/v1/layers/render": [],
        "/v1/models/inspect": sorted(MODEL_EXAMPLES),
        "/v1/models/summary": sorted(SUMMARY_EXAMPLES),
        "/v1/models/render": [],
        "/v1/autograd": sorted(AUTOGRAD_EXAMPLES),
        "/v1/models/receptive-field": sorted(RECEPTIVE_FIELD_EXAMPLES),
        "/v1/models/attribute": sorted(ATTRIBUTE_EXAMPLES),
        "/v1/layers/sweep": sorted(SWEEP_EXAMPLES),
    }
    problem = spec["paths"]["/v1/layers/inspect"]["post"]["responses"]["422"]
    assert "application/problem+json" in problem["content"]


def test_every_4xx_response_is_problem_json_and_no_fastapi_validation_schema(
    client: TestClient,
) -> None:
    spec = client.get("/openapi.json").json()
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert "ValidationError" not in schemas
    assert "Problem" in schemas
    seen = 0
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            codes = {int(c) for c in op["responses"] if c.isdigit()}
            if path.startswith("/v1"):
                # No API keys here: nothing answers 401, so nothing documents it.
                assert 422 in codes and 401 not in codes, (method, path)
                if method == "post":
                    assert {400, 413, 503} <= codes, (method, path)
            # A JSON body sent without a JSON content type is a 415, documented where it can be.
            takes_json = "application/json" in op.get("requestBody", {}).get("content", {})
            assert (415 in codes) == takes_json or path.endswith("/upload"), (method, path)
            for code in codes:
                if 400 <= code < 500:
                    content = op["responses"][str(code)]["content"]
                    assert list(content) == [PROBLEM_MEDIA_TYPE], (method, path, code)
                    ref = content[PROBLEM_MEDIA_TYPE]["schema"]["$ref"]
                    assert ref == "#/components/schemas/Problem"
                    seen += 1
    assert seen > 20
    # No reference anywhere to a schema that was removed.
    text = str(spec)
    assert "HTTPValidationError" not in text


def _nodes(value: Any) -> list[dict[str, Any]]:
    """Every JSON object in a document, nested ones included."""
    if isinstance(value, dict):
        return [value, *(n for v in value.values() for n in _nodes(v))]
    if isinstance(value, list):
        return [n for v in value for n in _nodes(v)]
    return []


def test_schema_bounds_are_json_schema_keywords_and_exact(client: TestClient) -> None:
    """Bounds read as the server applies them: `minimum`/`maximum`, never pydantic's own
    `ge`/`le` (which JSON Schema tools ignore), and integer bounds that a float64 holds
    exactly (FastAPI writes them as floats: 2**63 - 1 would read as 2**63)."""
    nodes = _nodes(client.get("/openapi.json").json()["components"]["schemas"])
    bounded = [n for n in nodes if n.get("type") == "integer" and "maximum" in n]
    assert len(bounded) > 50
    for node in nodes:
        if node.get("type") in ("integer", "number"):
            assert not {"ge", "le", "gt", "lt"} & set(node), node
    for node in bounded:
        for key in ("minimum", "maximum"):
            if key in node:
                assert float(node[key]).is_integer() and abs(node[key]) <= 2**53, node


def test_validation_422_description_is_rewritten(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/v1/layers/inspect"]["post"]["responses"]
    descriptions = [r["description"] for r in responses.values()]
    assert "Validation Error" not in descriptions
    assert responses["422"]["description"] == "Unprocessable Entity (problem details)"


def test_every_router_is_mounted(client: TestClient) -> None:
    paths = set(client.get("/openapi.json").json()["paths"])
    expected = {
        route.path  # type: ignore[attr-defined]
        for router in (*OPEN_ROUTERS, *API_ROUTERS)
        for route in router.routes
        if getattr(route, "include_in_schema", False)
    }
    assert expected and expected <= paths


def test_request_id_even_on_a_413_body_refusal() -> None:
    # RequestContext is the outermost middleware: the body limit's refusal still gets an id.
    app = create_app(make_settings(max_body_bytes=1024))
    with TestClient(app) as c:
        r = c.post(
            "/v1/layers/inspect",
            content=b"[" + b" " * 4096 + b"]",
            headers={"content-type": "application/json", "x-request-id": "abc-123"},
        )
    assert r.status_code == 413
    assert r.headers["content-type"] == PROBLEM_MEDIA_TYPE
    assert r.headers["x-request-id"] == "abc-123"


def test_request_id_on_a_cors_preflight() -> None:
    app = create_app(make_settings(cors_origins=["https://a.example"]))
    with TestClient(app) as c:
        r = c.options(
            "/v1/layers/inspect",
            headers={
                "origin": "https://a.example",
                "access-control-request-method": "POST",
                "x-request-id": "pre-1",
            },
        )
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "pre-1"


def test_cors_allow_list_with_credentials() -> None:
    app = create_app(make_settings(cors_origins=["https://a.example", "https://b.example"]))
    with TestClient(app) as c:
        ok = c.get("/healthz", headers={"origin": "https://b.example"})
        other = c.get("/healthz", headers={"origin": "https://evil.example"})
        pre = c.options(
            "/v1/layers/inspect",
            headers={
                "origin": "https://a.example",
                "access-control-request-method": "POST",
                "access-control-request-headers": "authorization,content-type",
            },
        )
    assert ok.headers["access-control-allow-origin"] == "https://b.example"
    assert ok.headers["access-control-allow-credentials"] == "true"
    assert {h.strip() for h in ok.headers["access-control-expose-headers"].split(",")} == {
        "X-Request-ID",
        "Retry-After",
    }
    assert "access-control-allow-origin" not in other.headers
    assert pre.headers["access-control-allow-origin"] == "https://a.example"
    assert {m.strip() for m in pre.headers["access-control-allow-methods"].split(",")} == {
        "GET",
        "POST",
    }


def test_cors_wildcard_has_no_credentials() -> None:
    app = create_app(make_settings(cors_origins=["*"]))
    with TestClient(app) as c:
        r = c.get("/healthz", headers={"origin": "https://any.example"})
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers


def test_no_cors_headers_without_origins(client: TestClient) -> None:
    r = client.get("/healthz", headers={"origin": "https://a.example"})
    assert "access-control-allow-origin" not in r.headers


def test_docs_routes_and_runtime_on_state(app: Any, client: TestClient) -> None:
    assert app.state.metrics is app.state.runtime.metrics
    docs = client.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
    assert "/openapi.json" in docs.text  # the page loads this app's schema
    assert client.get("/openapi.json").json()["info"]["title"] == "layerscope"


def test_a_process_stopped_during_warm_up_exits_cleanly() -> None:
    """Started and stopped at once (a crash loop, a quick `docker stop`), the process waits for
    the warm-up thread: leaving while torch warms up aborted it in C++ with status 134."""
    script = (
        "from fastapi.testclient import TestClient\n"
        "from service.app import create_app\n"
        "with TestClient(create_app()):\n"
        "    pass\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "terminate called" not in done.stderr
