"""layerscope_client.errors: error responses as LayerscopeError, with or without problem details
(an in-process transport stands in for the service and for a proxy in front of it)."""

import httpx
import pytest

from layerscope_client import Client, LayerscopeError

PROBLEM = {
    "type": "/problems/too-large",
    "title": "Too large",
    "status": 413,
    "detail": "the input has 2000000000 elements, more than 16000000",
    "instance": "/v1/layers/inspect",
    "errors": [
        {
            "field": "body.input.shape",
            "message": "2000000000 elements",
            "fix": "send a smaller shape",
            "type": None,
        },
        {"field": "body.dtype", "message": "too wide", "fix": None, "type": None},
    ],
    "context": {"limit": 16000000},
}


def client_answering(response: httpx.Response) -> Client:
    """A client whose every request gets `response`."""
    return Client("http://layerscope.test", transport=httpx.MockTransport(lambda _: response))


def test_problem_details_become_the_error() -> None:
    answer = httpx.Response(413, json=PROBLEM, headers={"content-type": "application/problem+json"})
    with client_answering(answer) as client, pytest.raises(LayerscopeError) as caught:
        client.info()
    error = caught.value
    assert error.status == 413
    assert error.problem.model_dump(mode="json") == PROBLEM
    assert error.response is not None and error.response.status_code == 413
    assert str(error).splitlines() == [
        "413 Too large: the input has 2000000000 elements, more than 16000000",
        "  body.input.shape: 2000000000 elements (fix: send a smaller shape)",
        "  body.dtype: too wide",
    ]


def test_a_body_that_is_not_problem_details_is_about_blank() -> None:
    page = "<html><body>502 Bad Gateway</body></html>"
    answer = httpx.Response(502, text=page, headers={"content-type": "text/html"})
    with client_answering(answer) as client, pytest.raises(LayerscopeError) as caught:
        client.healthz()
    problem = caught.value.problem
    assert (problem.type, problem.title, problem.status) == ("about:blank", "Bad Gateway", 502)
    assert problem.detail == page
    assert problem.instance == "/healthz"
    assert problem.errors == []


def test_success_is_not_an_error() -> None:
    with client_answering(httpx.Response(200, json={"status": "ok"})) as client:
        assert client.healthz().status == "ok"
