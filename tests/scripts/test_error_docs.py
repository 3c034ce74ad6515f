"""scripts/error_docs.py: the committed errors page is current and lists what the service raises."""

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scripts import error_docs
from scripts.error_docs import ERRORS_PAGE, error_reference, problem_types


def test_the_committed_page_is_current() -> None:
    """Regenerate with `PYTHONPATH=. .venv/bin/python scripts/reference_docs.py`."""
    assert ERRORS_PAGE.read_text() == error_reference()


def test_the_scan_finds_each_way_a_problem_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "service"
    package.mkdir()
    (package / "made.py").write_text(
        "def a(x, status=422):\n"
        "    raise ProblemError(413, 'plain-one', 'detail')\n"
        "def b(flag):\n"
        "    raise unprocessable('either' if flag else 'or', 'body.x', 'message')\n"
        "def c(status=409):\n"
        "    raise ProblemError(status, 'from-default', 'detail')\n"
        "def d():\n"
        "    return Misfit('x', 'y')\n"
    )
    monkeypatch.setattr(error_docs, "ROOT", tmp_path)
    found = problem_types(package)
    assert {slug: sorted(t.statuses) for slug, t in found.items()} == {
        "plain-one": ["413"],
        "either": ["422"],
        "or": ["422"],
        "from-default": ["409"],
        "shape-mismatch": ["422"],
        **{slug: [status] for slug, (status, _) in error_docs.HANDLER_TYPES.items()},
    }
    assert found["plain-one"].modules == {"service/made.py"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "post",
            "/v1/layers/inspect",
            {
                "layer": {"type": "linear", "in_features": 3, "out_features": 2},
                "input": {"shape": [1, 4]},
            },
        ),
        ("post", "/v1/layers/inspect", {"layer": {"type": "nope"}, "input": {"shape": [1]}}),
        ("post", "/v1/models/summary", {"model": "resnet9000", "input": {"shape": [1, 3, 8, 8]}}),
        ("get", "/v1/mnist/test/100000", None),
        (
            "post",
            "/v1/autograd",
            {"leaves": [], "ops": [{"name": "y", "op": "sum", "args": ["x"]}]},
        ),
    ],
)
def test_problems_answered_are_on_the_page(
    client: TestClient, method: str, path: str, body: object
) -> None:
    answer = client.request(method, path, json=body)
    assert answer.headers["content-type"] == "application/problem+json"
    slug = answer.json()["type"].removeprefix("/problems/")
    row = next(line for line in error_reference().splitlines() if f"`/problems/{slug}`" in line)
    assert str(answer.status_code) in row.split("|")[2]
