"""Every error is RFC 9457 problem details naming the field and the fix."""

import json
from typing import Any

import pytest
import torch
from fastapi.testclient import TestClient

CONV = {"type": "conv2d", "in_channels": 1, "out_channels": 2, "kernel_size": 3}


def _problem(client: TestClient, body: Any, status: int = 422) -> dict[str, Any]:
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = r.json()
    assert problem["status"] == status
    assert problem["instance"] == "/v1/layers/inspect"
    return problem


@pytest.mark.parametrize(
    ("body", "field", "fix_word"),
    [
        (
            {"layer": CONV | {"kernal_size": 3}, "input": {"shape": [1, 1, 5, 5]}},
            "body.layer.kernal_size",
            "remove",
        ),
        (
            {
                "layer": {"type": "conv2d", "in_channels": 1, "out_channels": 2},
                "input": {"shape": [1, 1, 5, 5]},
            },
            "body.layer.kernel_size",
            "add",
        ),
        (
            {"layer": CONV | {"stride": 0}, "input": {"shape": [1, 1, 5, 5]}},
            "body.layer.stride",
            "bounds",
        ),
        ({"layer": {"type": "dense"}, "input": {"shape": [1]}}, "body.layer", "type"),
        (
            {
                "layer": {"type": "activation", "name": "relu", "alpha": 1.0},
                "input": {"shape": [1]},
            },
            "body.layer.alpha",
            "remove",
        ),
        ({"layer": CONV, "input": {"shape": [1, -2, 5, 5]}}, "body.input.shape.1", "bounds"),
        ({"layer": CONV, "input": {"shap": [1, 1, 5, 5]}}, "body.input", "keys"),
        (
            {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}, "device": "tpu"},
            "body.device",
            "pattern",
        ),
        (
            {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}, "encoding": "xml"},
            "body.encoding",
            "allowed",
        ),
        (
            {"layer": CONV | {"in_channels": 3, "groups": 2}, "input": {"shape": [1, 3, 5, 5]}},
            "body.layer",
            "groups",
        ),
        (
            {"layer": CONV | {"padding": "same", "stride": 2}, "input": {"shape": [1, 1, 5, 5]}},
            "body.layer",
            "stride=1",
        ),
        (
            {
                "layer": {"type": "maxpool2d", "kernel_size": 2, "padding": 2},
                "input": {"shape": [1, 1, 5, 5]},
            },
            "body.layer",
            "padding <= 1",
        ),
    ],
)
def test_validation_errors_name_field_and_fix(
    client: TestClient, body: Any, field: str, fix_word: str
) -> None:
    problem = _problem(client, body)
    assert problem["type"] == "/problems/invalid-request"
    fields = {e["field"]: e for e in problem["errors"]}
    assert field in fields, fields
    entry = fields[field]
    assert fix_word in (entry["fix"] or "") + entry["message"]


@pytest.mark.parametrize(
    ("layer", "input_", "field", "fix"),
    [
        ({"type": "activation", "name": "softmax", "dim": False}, [2], "body.layer.dim", "integer"),
        (
            {"type": "linear", "in_features": 2, "out_features": 1, "bias": "yes"},
            [1, 2],
            "body.layer.bias",
            "true or false",
        ),
        (
            {"type": "linear", "in_features": "2", "out_features": 1},
            [1, 2],
            "body.layer.in_features",
            "integer",
        ),
        ({"type": "activation", "name": "relu"}, [1, True], "body.input.shape.1", "integer"),
    ],
)
def test_booleans_and_integers_are_strict(
    client: TestClient, layer: dict[str, Any], input_: list[Any], field: str, fix: str
) -> None:
    """`false` is no dim 0, `"yes"` no true, `"2"` no 2: each a 422 naming the field."""
    problem = _problem(client, {"layer": layer, "input": {"shape": input_}})
    assert [e["field"] for e in problem["errors"]] == [field]
    assert fix in problem["errors"][0]["fix"]


def test_a_json_integer_is_still_a_number(client: TestClient) -> None:
    """Strictness does not refuse `1` where a float is asked for: LeakyReLU(1) is identity."""
    x = [[-2.0, 3.0]]
    r = client.post(
        "/v1/layers/inspect",
        json={
            "layer": {"type": "activation", "name": "leaky_relu", "negative_slope": 1},
            "input": {"tensor": {"data": x}},
        },
    )
    assert r.status_code == 200, r.text
    expected = torch.nn.LeakyReLU(negative_slope=1.0)(torch.tensor(x))
    assert torch.equal(torch.tensor(r.json()["output"]["data"]).reshape(1, 2), expected)


def test_an_integer_spelled_with_a_point_is_that_integer(client: TestClient) -> None:
    """JSON Schema's `integer` takes 2.0 (one JSON number 2): so does the server."""
    body = {
        "layer": {"type": "activation", "name": "softmax", "dim": 0.0},
        "input": {"tensor": {"data": [[1.0, 2.0], [3.0, 5.0]]}},
    }
    r = client.post("/v1/layers/inspect", json=body)
    assert r.status_code == 200, r.text
    expected = torch.softmax(torch.tensor([[1.0, 2.0], [3.0, 5.0]]), dim=0).flatten()
    assert torch.allclose(torch.tensor(r.json()["output"]["data"]), expected)
    assert r.json()["output"]["shape"] == [2, 2]


def test_tensor_data_problems(client: TestClient) -> None:
    layer = {"type": "activation", "name": "relu"}
    p = _problem(client, {"layer": layer, "input": {"tensor": {"shape": [2, 2], "data": [1, 2]}}})
    assert p["errors"][0]["field"] == "body.input.tensor.data"
    assert "needs 4 values" in p["detail"]
    p = _problem(client, {"layer": layer, "input": {"tensor": {"data": [[1, 2], [3]]}}})
    assert "evenly nested" in p["detail"]
    p = _problem(client, {"layer": layer, "input": {"tensor": {"data": ["a", "b"]}}})
    assert p["errors"][0]["field"] == "body.input.tensor.data"
    p = _problem(client, {"layer": layer, "input": {"tensor": {"shape": [2], "data_b64": "!!"}}})
    assert p["errors"][0]["field"] == "body.input.tensor.data_b64"
    p = _problem(
        client,
        {"layer": layer, "input": {"tensor": {"shape": [2], "data": [1, 2], "dtype": "int8"}}},
    )
    assert p["errors"][0]["field"] == "body.input.tensor.dtype"


def test_state_mismatch_names_each_parameter(client: TestClient) -> None:
    body = {
        "layer": {"type": "linear", "in_features": 2, "out_features": 3},
        "input": {"shape": [1, 2]},
        "weights": {
            "state": {"weight": {"shape": [2, 3], "data": [0] * 6}, "extra": {"data": [1]}}
        },
    }
    p = _problem(client, body)
    fields = {e["field"]: e for e in p["errors"]}
    assert "weight" in fields["body.weights.state.weight"]["message"]
    assert fields["body.weights.state.weight"]["fix"] == "send weight with shape [3, 2]"
    assert "add bias of shape [3]" in fields["body.weights.state.bias"]["fix"]
    assert "not a parameter" in fields["body.weights.state.extra"]["message"]


def test_grad_output_shape_mismatch(client: TestClient) -> None:
    body = {
        "layer": {"type": "linear", "in_features": 2, "out_features": 3},
        "input": {"shape": [1, 2]},
        "backward": {"grad_output": {"shape": [1, 2], "data": [1, 1]}},
    }
    p = _problem(client, body)
    assert p["context"] == {"expected": [1, 3], "received": [1, 2]}
    assert "send grad_output with shape [1, 3]" in p["detail"]


def test_backward_with_nothing_to_differentiate(client: TestClient) -> None:
    body = {
        "layer": {"type": "activation", "name": "relu"},
        "input": {"shape": [3], "requires_grad": False},
        "backward": {"target": "sum"},
    }
    p = _problem(client, body)
    assert "requires_grad=true" in p["detail"]


def test_unavailable_device_names_the_devices_there_are(client: TestClient) -> None:
    body = {"layer": CONV, "input": {"shape": [1, 1, 5, 5]}, "device": "cuda:7"}
    p = _problem(client, body)
    assert p["type"] == "/problems/device-unavailable"
    there = ["cpu"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    assert p["context"]["available"] == there
    assert "use one of: " + ", ".join(there) in p["detail"]


def test_too_many_elements_is_413_before_allocation(client: TestClient) -> None:
    p = _problem(client, {"layer": CONV, "input": {"shape": [100000, 100000]}}, 413)
    assert p["context"]["shape"] == [100000, 100000]
    big_out = {"type": "conv2d", "in_channels": 1, "out_channels": 4096, "kernel_size": 1}
    p = _problem(client, {"layer": big_out, "input": {"shape": [1, 1, 1000, 1000]}}, 413)
    assert p["context"]["tensor"] == "output"


def test_invalid_json_and_404_and_405_are_problems(client: TestClient) -> None:
    r = client.post(
        "/v1/layers/inspect", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["type"] == "json_invalid"
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["title"] == "Not Found"
    r = client.get("/v1/layers/inspect")
    assert r.status_code == 405
    assert r.json()["type"] == "about:blank"
    assert "GET is not allowed" in r.json()["detail"]


RELU_BODY = b'{"layer": {"type": "activation", "name": "relu"}, "input": {"shape": [2]}}'


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_without_a_json_content_type_is_415_saying_so(
    client: TestClient, content_type: str | None
) -> None:
    headers = {"content-type": content_type} if content_type else {}
    r = client.post("/v1/layers/inspect", content=RELU_BODY, headers=headers)
    assert r.status_code == 415, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["accept-post"] == "application/json"
    problem = r.json()
    assert problem["type"] == "/problems/unsupported-media-type"
    assert "content-type: application/json" in problem["detail"]
    assert [e["field"] for e in problem["errors"]] == ["header.content-type"]
    assert (content_type or "missing") in problem["detail"]
    # The same bytes with the JSON content type run (application/*+json counts as JSON).
    for json_type in ("application/json", "application/vnd.layerscope+json"):
        ok = client.post(
            "/v1/layers/inspect", content=RELU_BODY, headers={"content-type": json_type}
        )
        assert ok.status_code == 200, ok.text


def test_a_json_array_with_a_json_content_type_is_still_a_422(client: TestClient) -> None:
    p = _problem(client, [1, 2])
    assert p["type"] == "/problems/invalid-request" and p["errors"][0]["field"] == "body"


@pytest.mark.parametrize(
    ("body", "line", "column", "snippet"),
    [
        (b"{not json", 1, 2, "{not json\n ^"),
        (
            b'{"layer": {"type": "linear",\n  "in_features": 2,, "out_features": 1}}',
            2,
            20,
            '  "in_features": 2,, "out_features": 1}}\n                   ^',
        ),
        (
            b'{"input": {"shape": [1]},\n"layer": {"type": "activation", "name": "relu"'
            + b" " * 80
            + b"]}}",
            2,
            127,
            " " * 30 + "]}}\n" + " " * 30 + "^",
        ),
    ],
)
def test_invalid_json_names_line_and_column_and_shows_the_spot(
    client: TestClient, body: bytes, line: int, column: int, snippet: str
) -> None:
    """Not a character offset as a field (`body.66`): line, column and the text around it."""
    doc = body.decode()
    with pytest.raises(json.JSONDecodeError) as parsed:
        json.loads(doc)
    assert (parsed.value.lineno, parsed.value.colno) == (line, column)  # as Python's json says
    r = client.post(
        "/v1/layers/inspect", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    problem = r.json()
    assert problem["type"] == "/problems/invalid-json"
    assert problem["context"] == {"line": line, "column": column, "snippet": snippet}
    assert [e["field"] for e in problem["errors"]] == ["body"]
    assert f"{parsed.value.msg} at line {line}, column {column}" in problem["errors"][0]["message"]
    assert problem["detail"].endswith(snippet)


def test_a_missing_body_says_so(client: TestClient) -> None:
    r = client.post("/v1/layers/inspect", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {
            "field": "body",
            "message": "the request has no body",
            "fix": "send the request as a JSON object",
            "type": "missing",
        }
    ]


def test_absurd_shape_counts_past_64_bits_still_answer(client: TestClient) -> None:
    shape = [2**24] * 5
    p = _problem(client, {"layer": CONV, "input": {"shape": shape}}, 413)
    assert p["context"]["elements"] == 2**120
