"""Schemathesis against the app's own OpenAPI schema, with every check: the schema says what the
server does, and nothing a client sends yields a 5xx.

Every built-in check runs (auth included: `ignored_auth` re-sends requests without the key and
with a wrong one), on an app without API keys and on one with them. The built-in
`positive_data_acceptance` is replaced by `schema_valid_requests_are_taken`, which also allows
the refusals no schema can state (a shape that does not fit the layer, a size over a limit)
and still fails every refusal of a request's form.

One run is derandomized, so CI sees the same examples every time; the others draw a new seed
each run (printed with a failure; LAYERSCOPE_FUZZ_SEED=N replays it).
"""

import io
import os
import secrets
from typing import Any

import schemathesis
from hypothesis import HealthCheck, seed, settings
from hypothesis import strategies as st
from PIL import Image

from service.app import create_app
from tests.conftest import make_settings

LIMITS = {"max_tensor_elements": 200_000, "max_total_elements": 1_000_000}
KEY = "fuzz-key"
SEED = int(os.environ.get("LAYERSCOPE_FUZZ_SEED") or secrets.randbelow(2**32))
EXAMPLES = int(os.environ.get("LAYERSCOPE_FUZZ_EXAMPLES", "25"))
RANDOM_EXAMPLES = int(os.environ.get("LAYERSCOPE_FUZZ_RANDOM_EXAMPLES", "8"))


@st.composite
def png_images(draw: st.DrawFn) -> bytes:
    """Small real PNGs (the `image` part of the uploads is a picture, not any bytes)."""
    size = (draw(st.integers(1, 40)), draw(st.integers(1, 40)))
    mode = draw(st.sampled_from(["L", "RGB", "RGBA"]))
    image = Image.new(mode, size, color=draw(st.integers(0, 255)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


schemathesis.openapi.media_type("image/png", png_images())

FORM_PROBLEMS = {
    "/problems/invalid-request",
    "/problems/invalid-json",
    "/problems/invalid-form-json",
    "/problems/unsupported-media-type",
}
"""Problem types that refuse a request's form: what a schema can say, so never for valid data."""
CROSS_FIELD = {"value_error"}
"""Pydantic error types of rules across fields, which a JSON schema cannot state."""


def _placeholder(case: schemathesis.Case) -> bool:
    """A multipart body with a JSON part sent empty: schemathesis's coverage phase fills the
    required parts it has no media-type strategy for with "", which the schema does not call
    valid (`spec` is an object), so the case is not the positive one it is labelled."""
    body = case.body if case.media_type == "multipart/form-data" else None
    return isinstance(body, dict) and body.get("spec") == ""


def schema_valid_requests_are_taken(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """Data the schema calls valid is answered, or refused only for what no schema can say.

    Allowed refusals: 404 for a path parameter naming nothing (an MNIST index past the set),
    413 for a size over a limit, 503 when busy, and a 422 whose problem is about meaning (a
    shape that does not fit, a graph naming an unknown tensor) or a cross-field rule. A 400,
    401, 415 or a 422 about the request's form means the schema and the server disagree.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive or _placeholder(case):
        return None
    status = response.status_code
    if status < 400 or status in (413, 503) or (status == 404 and "{" in case.path):
        return None
    problem: dict[str, Any] = response.json() if status in (401, 415, 422) else {}
    kind = problem.get("type")
    if status == 422 and kind not in FORM_PROBLEMS:
        return None
    errors = problem.get("errors", [])
    if kind == "/problems/invalid-request" and all(e["type"] in CROSS_FIELD for e in errors):
        return None
    raise AssertionError(
        f"a request the schema calls valid was refused with {status} {kind}: "
        f"{problem.get('detail', response.text[:300])}"
    )


def _schema(keyed: bool, coverage: bool = True) -> Any:
    app = create_app(make_settings(**LIMITS, api_keys=KEY if keyed else ""))
    app.state.runtime.warm_up()
    config: dict[str, Any] = {
        "checks": {"positive_data_acceptance": {"enabled": False}},
        # The coverage phase (edge values, missing parts, wrong methods) draws no random
        # numbers: once per app is enough.
        "phases": {"coverage": {"enabled": coverage}},
        # Real digits: the MNIST routes answer 404 for the names a fuzzer invents.
        "parameters": {"path.split": "test"},
    }
    if keyed:
        config["auth"] = {"openapi": {"HTTPBearer": {"bearer": KEY}}}
    return schemathesis.openapi.from_asgi(
        "/openapi.json", app, config=schemathesis.Config.from_dict(config)
    )


open_schema = _schema(keyed=False)
open_schema_fuzzing = _schema(keyed=False, coverage=False)
keyed_schema_fuzzing = _schema(keyed=True, coverage=False)
# The coverage phase of the keyed app also sends each request without its key (and with a wrong
# one). Run on the operations with small bodies: the layer and model bodies add thousands of
# edge cases of the same schema the open app's run covers, and the key guards every /v1 route
# alike (one router dependency).
keyed_schema_coverage = _schema(keyed=True).exclude(path_regex=r"^/v1/(layers|models)/")


def _call_and_validate(case: schemathesis.Case) -> None:
    """Send the case and run every check; a failure says how to replay this run's seed."""
    try:
        case.call_and_validate(additional_checks=[schema_valid_requests_are_taken])
    except BaseException as exc:
        exc.add_note(f"replay with LAYERSCOPE_FUZZ_SEED={SEED}")
        raise


COMMON: dict[str, Any] = {
    "deadline": None,
    "database": None,
    "suppress_health_check": list(HealthCheck),
}


@open_schema.parametrize()
@settings(max_examples=EXAMPLES, derandomize=True, **COMMON)
def test_every_operation_conforms(case: schemathesis.Case) -> None:
    """The same examples every run, so CI is stable."""
    case.call_and_validate(additional_checks=[schema_valid_requests_are_taken])


@open_schema_fuzzing.parametrize()
@seed(SEED)
@settings(max_examples=RANDOM_EXAMPLES, **COMMON)
def test_every_operation_conforms_with_a_random_seed(case: schemathesis.Case) -> None:
    _call_and_validate(case)


@keyed_schema_fuzzing.parametrize()
@seed(SEED)
@settings(max_examples=RANDOM_EXAMPLES, **COMMON)
def test_every_operation_conforms_with_api_keys(case: schemathesis.Case) -> None:
    """With keys set: bearer auth declared, demanded, and a missing or wrong key a 401."""
    _call_and_validate(case)


@keyed_schema_coverage.parametrize()
@seed(SEED)
@settings(max_examples=RANDOM_EXAMPLES, **COMMON)
def test_small_operations_conform_with_api_keys_on_their_edges(case: schemathesis.Case) -> None:
    _call_and_validate(case)
