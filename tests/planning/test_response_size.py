"""service/planning/response_size.py: the estimate is never below the real response's length.

The estimate is read where the routes compute it (a spy on `check_response_size`), and compared
with `len(response.content)` of the same request, over a table of requests: every worked example
of the layer, model, autograd, attribute and sweep routes, in each encoding, with every `include`
mix, and the worst cases for JSON (long float reprs) and for pictures (incompressible noise).
"""

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import torch
from fastapi.testclient import TestClient

from schemas.autograd_examples import AUTOGRAD_EXAMPLES
from schemas.examples import LAYER_EXAMPLES, MODEL_EXAMPLES
from schemas.explain_examples import ATTRIBUTE_EXAMPLES, SWEEP_EXAMPLES
from service.autograd import run as autograd_run
from service.errors import ProblemError
from service.explain import attribution, sweep
from service.images.rendering import data_uri, render_png
from service.inspection import layer as layer_inspection
from service.inspection import model as model_inspection
from service.planning import response_size
from service.planning.response_size import ResponseEstimate, check_response_size

MARGIN = 0.0
"""How far below the real length the estimate may fall: not at all."""

INCLUDES: list[list[str] | None] = [
    None,
    [],
    ["output"],
    ["images"],
    ["input", "output", "parameters", "gradients", "images"],
]

LONG_FLOATS = [-1.2345678e-30 * (i + 1) for i in range(64)]
"""float32 values whose shortest repr is as long as a float32's gets (14 characters)."""


def _cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for encoding in ("json", "base64", "safetensors"):
        for include in INCLUDES:
            extra: dict[str, Any] = {"encoding": encoding}
            if include is not None:
                extra["include"] = include
            for name, example in LAYER_EXAMPLES.items():
                yield (
                    f"layer-{name}-{encoding}-{include}",
                    "/v1/layers/inspect",
                    {
                        **example["value"],
                        **extra,
                    },
                )
            for name, example in MODEL_EXAMPLES.items():
                yield (
                    f"model-{name}-{encoding}-{include}",
                    "/v1/models/inspect",
                    {
                        **example["value"],
                        **extra,
                    },
                )
            yield (
                f"long-floats-{encoding}-{include}",
                "/v1/layers/inspect",
                {
                    "layer": {"type": "flatten"},
                    "input": {"tensor": {"shape": [1, 8, 8], "data": LONG_FLOATS}},
                    "backward": {"target": "sum"},
                    **extra,
                },
            )
        for name, example in AUTOGRAD_EXAMPLES.items():
            yield (
                f"autograd-{name}-{encoding}",
                "/v1/autograd",
                {
                    **example["value"],
                    "encoding": encoding,
                },
            )


TORCHVISION_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (
        f"torchvision-{name}-{encoding}-{include}",
        "/v1/models/inspect",
        {
            "model": {"torchvision": name, "kwargs": kwargs},
            "input": {"shape": [1, 3, 32, 32]},
            "select": select,
            "encoding": encoding,
        }
        | ({} if name.startswith("vit") else {"backward": {"target": "sum"}})
        | ({} if include is None else {"include": include}),
    )
    for name, kwargs, select, encoding, include in [
        # every module: hundreds of rows, every parameter once, the table at depth 3
        ("mobilenet_v3_small", {}, ["*"], "base64", None),
        ("mobilenet_v3_small", {}, ["*"], "json", []),
        # pictures of each selected module (concatenated outputs, kernels of every conv)
        ("densenet121", {}, ["features.transition1*"], "base64", ["images", "parameters"]),
        # the class token at the top level, attention's (output, weights) tuple
        ("vit_b_32", {"image_size": 32}, ["encoder.layers.encoder_layer_0*"], "json", None),
    ]
]
"""torchvision architectures: module trees, many rows, selections."""

EXPLAIN_CASES: list[tuple[str, str, dict[str, Any]]] = [
    (f"attribute-{name}-{encoding}", "/v1/models/attribute", example["value"] | extra)
    for name, example in ATTRIBUTE_EXAMPLES.items()
    for encoding in ("json", "base64", "safetensors")
    for extra in [{"encoding": encoding}]
] + [
    (f"sweep-{name}-{include}", "/v1/layers/sweep", example["value"] | extra)
    for name, example in SWEEP_EXAMPLES.items()
    for include in (None, ["output"], ["input", "output", "parameters", "gradients"])
    for extra in [{} if include is None else {"include": include}]
]
"""The explain routes: every attribution example in each encoding, every sweep with each
`include` (a sweep is one inspect answer and picture per value, and a strip)."""

CASES = list(_cases()) + TORCHVISION_CASES + EXPLAIN_CASES


@pytest.fixture
def estimates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every estimate the routes compute during a test, in order."""
    seen: list[int] = []

    def spy(estimate: ResponseEstimate, limit: int) -> int:
        seen.append(check_response_size(estimate, limit))
        return seen[-1]

    for module in (layer_inspection, model_inspection, autograd_run, attribution, sweep):
        monkeypatch.setattr(module, "check_response_size", spy)
    return seen


@pytest.mark.parametrize(("name", "url", "body"), CASES, ids=[c[0] for c in CASES])
def test_estimate_is_never_below_the_real_length(
    client: TestClient,
    estimates: list[int],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    url: str,
    body: dict[str, Any],
) -> None:
    if "vit" in name:  # 88 M parameters and their gradients: over the default element limit
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        monkeypatch.setattr(runtime.settings, "max_total_elements", 200_000_000)
    response = client.post(url, json=body)
    assert response.status_code == 200, response.text[:500]
    real = len(response.content)
    # a sweep's own estimate comes first; each value's run then checks its own part again
    assert len(estimates) == 1 or (url == "/v1/layers/sweep" and len(estimates) > 1)
    assert estimates[0] >= real * (1 - MARGIN), f"{name}: estimated {estimates[0]}, real {real}"


@pytest.mark.parametrize(
    ("url", "body"),
    [
        ("/v1/layers/inspect", {**LAYER_EXAMPLES["strided_dilated_conv"]["value"]}),
        ("/v1/models/inspect", {**MODEL_EXAMPLES["seed_pipeline"]["value"], "include": None}),
    ],
)
def test_estimate_is_close_where_values_dominate(
    client: TestClient, estimates: list[int], url: str, body: dict[str, Any]
) -> None:
    """The estimate is a bound, not a guess: within 2x of the real length in JSON and within
    10% in base64, where the values are most of the response."""
    for encoding, slack in (("json", 2.0), ("base64", 1.1)):
        payload = {k: v for k, v in body.items() if v is not None}
        payload |= {"encoding": encoding, "include": ["input", "output", "parameters"]}
        response = client.post(url, json=payload)
        assert response.status_code == 200
        assert len(response.content) <= estimates[-1] <= slack * len(response.content)


@pytest.mark.parametrize(
    "shape", [[7], [1, 1], [5, 9], [3, 28, 28], [20, 16, 5, 5], [2, 3, 1, 40], [1, 300, 200]]
)
@pytest.mark.parametrize("colormap", ["gray", "coolwarm"])
def test_picture_bound_holds_for_noise(shape: list[int], colormap: str) -> None:
    """Uniform noise hardly compresses: its PNG is the worst case the bound must cover (RGB
    colours of a 256-entry map still compress up to 3x, hence the loose upper check)."""
    noise = torch.from_numpy(np.random.default_rng(0).random(shape))
    png = render_png(
        noise, colormap=colormap, normalize="global", scale=1, columns=None, max_pixels=10**9
    )  # type: ignore[arg-type]
    uri = f'"input":"{data_uri(png)}",'
    estimate = ResponseEstimate("json", bytes=0)
    estimate.picture(shape, rgb=colormap != "gray")
    assert len(uri) <= estimate.bytes <= 4 * len(uri) + 1024


def test_values_cost_what_the_encoding_writes() -> None:
    estimate = ResponseEstimate("base64", bytes=0)
    estimate.tensor(1000, with_values=True, item_size=8)
    assert estimate.parts["values"] == len(__import__("base64").b64encode(bytes(8000)))
    estimate = ResponseEstimate("json", bytes=0)
    estimate.tensor(10, with_values=False)
    assert "values" not in estimate.parts and estimate.bytes == response_size.TENSOR_OBJECT_BYTES


def test_over_the_limit_is_a_413_before_anything_runs(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the layer ran although the response is over the limit")

    monkeypatch.setattr(layer_inspection, "run", never)
    runtime = client.app.state.runtime  # type: ignore[attr-defined]
    monkeypatch.setattr(runtime.settings, "max_response_bytes", 100_000)
    body = {**LAYER_EXAMPLES["mnist_conv"]["value"], "include": ["output", "images"]}
    response = client.post("/v1/layers/inspect", json=body)
    assert response.status_code == 413
    problem = response.json()
    assert problem["type"] == "/problems/response-too-large"
    context = problem["context"]
    assert context["limit"] == 100_000 and context["estimated_bytes"] > 100_000
    assert context["estimated_bytes"] == sum(context["parts"].values()) + response_size.BASE_BYTES
    # 11,520 float32 values in JSON and the pictures: values are the largest part
    assert context["parts"]["values"] == 20 * 24 * 24 * response_size.JSON_BYTES_PER_VALUE
    assert "include" in problem["detail"]


def test_check_response_size_at_the_limit() -> None:
    estimate = ResponseEstimate("json")
    estimate.tensor(100, with_values=True)
    assert check_response_size(estimate, estimate.bytes) == estimate.bytes
    with pytest.raises(ProblemError) as info:
        check_response_size(estimate, estimate.bytes - 1)
    assert (info.value.status, info.value.slug, info.value.limit) == (
        413,
        "response-too-large",
        "response_bytes",
    )
    assert math.isclose(info.value.context["estimated_bytes"], estimate.bytes)  # type: ignore[index]
