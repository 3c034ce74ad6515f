"""POST /v1/layers/sweep: one layer, one input, one argument over a list of values, each value
run exactly as POST /v1/layers/inspect runs it (service.inspection.layer) and drawn as
POST /v1/layers/render draws it; a value that inspect would refuse is reported with the
problem details inspect would answer, beside the others, and the pictures side by side.

Each value's layer spec is the request's layer as the client wrote it with the one argument
replaced, validated as the inspect request's `layer` field is (so a value pydantic refuses
gets the same 422 body, located at `body.layer.<argument>`). Sizes are checked for every value
before any runs: each value's elements (as inspect checks them) and the response of all of
them together, within LAYERSCOPE_MAX_RESPONSE_BYTES.
"""

from dataclasses import dataclass
from typing import Any

from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from schemas.base import StrictModel
from schemas.explain import LayerSweepRequest
from schemas.layer_specs import ALL_SPECS, LayerSpec
from service.errors import PROBLEM_BASE, ProblemError, unprocessable, validation_problem
from service.explain.pictures import strip_png
from service.images.rendering import data_uri, grid_size, tile_shape
from service.inspection.layer import estimate_response, layer_body, layer_picture, run_layer
from service.inspection.preparation import Prepared, prepare
from service.planning.inputs import InputPlan
from service.planning.model_plan import single_naming
from service.planning.response_size import (
    DATA_URI_PREFIX_BYTES,
    ResponseEstimate,
    base64_bytes,
    check_response_size,
)
from service.runtime import Runtime

SPEC_FIELDS = frozenset(name for spec in ALL_SPECS for name in spec.model_fields)
"""Every argument any layer spec has."""


class _Layer(StrictModel):
    """The inspect request's `layer` field alone, to validate one value's spec as inspect does."""

    layer: LayerSpec


@dataclass
class Value:
    """One value of the sweep: its spec, or the problem it gets."""

    value: Any
    spec: LayerSpec | None = None
    problem: dict[str, Any] | None = None


def problem_body(exc: ProblemError) -> dict[str, Any]:
    """A ProblemError as the problem details the route would answer (no `instance`)."""
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + exc.slug,
        "title": exc.title,
        "status": exc.status,
        "detail": exc.detail,
        "instance": None,
        "errors": exc.errors,
    }
    if exc.context is not None:
        body["context"] = exc.context
    return body


def validation_body(exc: ValidationError) -> dict[str, Any]:
    """A spec pydantic refuses, as the 422 body the inspect route answers for it."""
    located = RequestValidationError(
        [
            {**err, "loc": ("body", *err["loc"])}
            for err in exc.errors(include_url=False, include_context=False)
        ]
    )
    detail, errors = validation_problem(located)
    return {
        "type": PROBLEM_BASE + "invalid-request",
        "title": "Invalid request",
        "status": 422,
        "detail": detail,
        "instance": None,
        "errors": errors,
    }


def specs(request: LayerSweepRequest) -> list[Value]:
    """Each value's layer spec: the layer as written, the argument replaced, validated."""
    if request.argument not in SPEC_FIELDS:
        own = sorted(type(request.layer).model_fields)
        raise unprocessable(
            "no-such-argument",
            "body.argument",
            f"{request.argument!r} is not an argument of any layer",
            f"sweep one of the layer's own: {', '.join(own)}",
        )
    written = request.layer.model_dump(mode="json", exclude_unset=True)
    written.setdefault("type", request.layer.model_dump(mode="json")["type"])
    out = []
    for value in request.values:
        try:
            spec = _Layer.model_validate({"layer": written | {request.argument: value}}).layer
        except ValidationError as exc:
            out.append(Value(value, problem=validation_body(exc)))
            continue
        out.append(Value(value, spec))
    return out


def _picture_bytes(request: LayerSweepRequest, shape: list[int], spatial: int | None) -> int:
    """The base64 bytes of a picture of a tensor of `shape` as render draws it (RGB, its
    worst case: raw pixels and filter bytes, no compression)."""
    tiles, height, width = tile_shape(shape, spatial)
    _, grid_h, grid_w = grid_size(tiles, height, width, request.columns, request.scale)
    return base64_bytes(grid_h * (3 * grid_w + 1) + 1024) + DATA_URI_PREFIX_BYTES


def _view_shape(request: LayerSweepRequest, ready: Prepared) -> list[int]:
    """The shape of the tensor `view` draws (the layer's weight for the weight views)."""
    layer = ready.model_plan.layers[0]
    if request.view == "output":
        return list(layer.output_shape)
    if request.view in ("weights", "weight_grad"):
        weight = layer.meta.state_dict().get("weight")
        return list(weight.shape) if weight is not None else []
    return list(ready.plan.shape)


def _plan(
    request: LayerSweepRequest, runtime: Runtime, values: list[Value], plan: InputPlan | None
) -> None:
    """Plan every value before any runs: its misfits and element limits become its problem;
    the response of all values together is checked against the limit (413)."""
    total = ResponseEstimate(request.encoding)
    for item in values:
        if item.spec is None:
            total.add("problems", 4096)
            continue
        one = request.model_copy(update={"layer": item.spec})
        try:
            ready = prepare(one, [item.spec], runtime, plan, single_naming)
        except ProblemError as exc:
            if exc.status >= 500:
                raise
            item.problem, item.spec = problem_body(exc), None
            total.add("problems", 4096)
            continue
        estimate = estimate_response(one, ready)
        for kind, count in estimate.parts.items():
            total.add(kind, count)
        picture = _picture_bytes(request, _view_shape(request, ready), item.spec.SPATIAL_DIMS)
        total.add("images", 2 * picture)  # its data URI, and its part of the strip
    check_response_size(total, runtime.settings.max_response_bytes)


def sweep(
    request: LayerSweepRequest, runtime: Runtime, plan: InputPlan | None = None
) -> dict[str, Any]:
    """The body of /v1/layers/sweep (not yet encoded)."""
    values = specs(request)
    _plan(request, runtime, values, plan)
    results: list[dict[str, Any]] = []
    pictures: list[bytes | None] = []
    for item in values:
        entry: dict[str, Any] = {
            "value": item.value,
            "status": 200,
            "result": None,
            "image": None,
            "problem": item.problem,
        }
        png = None
        if item.spec is not None:
            one = request.model_copy(update={"layer": item.spec})
            try:
                done = run_layer(one, runtime, plan)
                entry["result"] = layer_body(one, runtime, done)
                png = layer_picture(one, runtime, done)
                entry["image"] = data_uri(png)
            except ProblemError as exc:
                if exc.status >= 500:
                    raise
                entry["problem"] = problem_body(exc)
        if entry["problem"] is not None:
            entry["status"] = entry["problem"]["status"]
        results.append(entry)
        pictures.append(png)
    strip = None
    if any(png is not None for png in pictures):
        strip = data_uri(strip_png(pictures, runtime.settings.max_render_pixels))
    return {"argument": request.argument, "results": results, "strip": strip}
