"""The multipart forms: `image` (the file; several `image` files make one batch, in order),
`spec` (the JSON request; without `input` when images are sent) and `input` (optional JSON:
`{"preprocess": {...}, "requires_grad": true}`); the model routes' forms take an optional
safetensors `weights` file too.

The OpenAPI schema documents `spec` and `input` as the objects they hold, each part sent as
`application/json` (the multipart `encoding`), and `image` as the image types the decoder
reads, so that clients and fuzzers generated from the schema send what the service takes.
"""

from collections.abc import Sequence
from typing import Any, BinaryIO, TypeVar

import orjson
import torch
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from schemas.explain import AttributeFormSpec
from schemas.images import ImageInputOptions
from schemas.models import ModelFormSpec, ModelRenderFormSpec
from schemas.requests import LayerUploadSpec
from service.errors import ProblemError, field_error, unprocessable
from service.images.decoding import decode_image, read_limited
from service.planning.inputs import InputPlan, check_batch, plan_batch, plan_image
from service.settings import Settings
from service.upload_reading import read_within

RequestT = TypeVar("RequestT", bound=BaseModel)

IMAGE_MEDIA_TYPES = ("image/png", "image/jpeg", "image/bmp", "image/gif", "image/webp")
"""What the `image` part may be (service/images/decoding.py reads these formats)."""
JSON_FORM_MODELS: tuple[type[BaseModel], ...] = (
    LayerUploadSpec,
    ModelFormSpec,
    ModelRenderFormSpec,
    AttributeFormSpec,
    ImageInputOptions,
)
"""The models that form parts hold as JSON, added to the schema's components."""


JSON_PART = "x-json-part"
"""Marks, in FastAPI's schema of a form, a field that holds a model as JSON text."""


def json_part(model: type[BaseModel]) -> dict[str, Any]:
    """The `json_schema_extra` of a form field that holds `model` (one of JSON_FORM_MODELS)
    as JSON text: document_upload_forms documents the field as that object."""
    return {JSON_PART: model.__name__}


def document_upload_forms(openapi: dict[str, Any]) -> None:
    """Add the JSON parts' models to `openapi`'s components, and to every multipart request
    body the `encoding` of its parts: JSON for object parts, the image types for `image`."""
    components = openapi.setdefault("components", {}).setdefault("schemas", {})
    for model in JSON_FORM_MODELS:
        definition = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in definition.pop("$defs", {}).items():
            components.setdefault(name, sub)
        components[model.__name__] = definition
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            form = operation.get("requestBody", {}).get("content", {}).get("multipart/form-data")
            if form is None:
                continue
            ref = form["schema"].get("$ref", "")
            body = components[ref.rsplit("/", 1)[-1]] if ref else form["schema"]
            encoding = form.setdefault("encoding", {})
            properties = body.get("properties", {})
            for name, prop in properties.items():
                if JSON_PART in prop:
                    ref = f"#/components/schemas/{prop[JSON_PART]}"
                    properties[name] = {"$ref": ref, "description": prop.get("description", "")}
                    encoding[name] = {"contentType": "application/json"}
                elif name == "image":
                    encoding[name] = {"contentType": ", ".join(IMAGE_MEDIA_TYPES)}


def _json_object(text: str, field: str) -> dict[str, Any]:
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise unprocessable(
            "invalid-form-json",
            field,
            f"form field {field!r} is not valid JSON ({exc})",
            "send a JSON object",
        ) from exc
    if not isinstance(value, dict):
        raise unprocessable(
            "invalid-form-json",
            field,
            f"form field {field!r} must be a JSON object",
            "send a JSON object",
        )
    return value


def _validate(model: type[RequestT], value: dict[str, Any], field: str) -> RequestT:
    """Validate form JSON; errors leave as the usual 422, located at `body.<field>...`."""
    try:
        return model.model_validate(value)
    except ValidationError as exc:
        errors = [
            {**err, "loc": ("body", field, *err["loc"])}
            for err in exc.errors(include_url=False, include_context=False)
        ]
        raise RequestValidationError(errors) from exc


def upload_request(
    spec: str,
    options: str | None,
    images: Sequence[BinaryIO],
    model: type[RequestT],
    settings: Settings,
) -> tuple[RequestT, InputPlan]:
    """Validate the form and preprocess the images: the request and the input plan it runs with.

    One file is a [1, 1, H, W] input; several are one batch [N, 1, H, W], in the order sent,
    each preprocessed on its own (`preprocessing.samples` echoes each). The batch's size is
    checked before any file is read. The returned request's own `input` is a placeholder of
    the input's shape: run it with the returned plan (which carries the images and the echo).
    """
    body = _json_object(spec, "spec")
    if body.get("input") is not None:
        raise unprocessable(
            "input-in-spec",
            "spec.input",
            "`spec` must not hold `input`: the uploaded image is the input",
            "remove `input`; put preprocessing options in the form field `input`",
        )
    input_options = ImageInputOptions()
    if options:
        input_options = _validate(ImageInputOptions, _json_object(options, "input"), "input")
    preprocess = input_options.preprocess
    size = preprocess.size
    side = [size, size] if isinstance(size, int) else list(size)
    count = len(images)
    request = _validate(model, {**body, "input": {"shape": [count, 1, *side]}}, "spec")
    check_batch(count, preprocess, settings, "image")
    if count == 1:
        pixels, source = _decode(images[0], settings, "image")
        plan = plan_image(
            pixels, preprocess, input_options.requires_grad, source, settings, field="image"
        )
        return request, plan
    decoded = (_decode(image, settings, f"image.{i}") for i, image in enumerate(images))
    plan = plan_batch(
        decoded, preprocess, input_options.requires_grad, {"kind": "upload", "files": count}
    )
    return request, plan


def _decode(image: BinaryIO, settings: Settings, field: str) -> tuple[torch.Tensor, dict[str, Any]]:
    """Read one file within the byte limit and decode it within the pixel limit."""
    data = read_limited(image, settings.max_upload_bytes, field)
    return decode_image(data, settings.max_image_pixels, field)


def read_weights(file: BinaryIO, limit: int) -> bytes:
    """Read an uploaded safetensors file in chunks: 413 naming LAYERSCOPE_MAX_WEIGHTS_BYTES as
    soon as it holds more than `limit` bytes, 422 if it is empty."""
    return read_within(
        file,
        limit,
        lambda: ProblemError(
            413,
            "weights-too-large",
            f"the weights file is over the limit of {limit:,} bytes "
            "(LAYERSCOPE_MAX_WEIGHTS_BYTES); send a smaller model's state_dict, or raise "
            "that setting",
            title="Weights file too large",
            errors=[
                field_error(
                    "weights",
                    f"more than {limit:,} bytes",
                    "send a smaller file, or raise LAYERSCOPE_MAX_WEIGHTS_BYTES",
                )
            ],
            context={"limit_bytes": limit, "setting": "LAYERSCOPE_MAX_WEIGHTS_BYTES"},
            limit="weights_bytes",
        ),
        lambda: unprocessable(
            "empty-upload",
            "weights",
            "the weights file is empty",
            "send a safetensors file of the model's state_dict (safetensors.torch.save_file)",
        ),
    )


def model_form(
    spec: str,
    options: str | None,
    images: Sequence[BinaryIO],
    weights: BinaryIO | None,
    model: type[RequestT],
    settings: Settings,
) -> tuple[RequestT, InputPlan | None, bytes | None]:
    """The model routes' form: `spec` with `image` files as the input (or, without images, the
    spec's own `input`), and optionally a safetensors `weights` file in place of the spec's
    `weights`. Returns the request, the input plan of the images (None: use the spec's input)
    and the weights file's bytes (read within LAYERSCOPE_MAX_WEIGHTS_BYTES)."""
    body = _json_object(spec, "spec")
    if weights is not None and body.get("weights") is not None:
        raise unprocessable(
            "weights-twice",
            "spec.weights",
            "the form carries a `weights` file and `spec` holds `weights` too",
            "remove `weights` from `spec`: the file is the weights",
        )
    data = read_weights(weights, settings.max_weights_bytes) if weights else None
    if images:
        request, plan = upload_request(spec, options, images, model, settings)
        return request, plan, data
    if options:
        raise unprocessable(
            "input-without-image",
            "input",
            "the form field `input` (preprocessing options) needs at least one `image` file",
            "send an `image` file, or put the input in `spec`",
        )
    if body.get("input") is None:
        raise unprocessable(
            "input-required",
            "spec.input",
            "the form has no `image` file and `spec` holds no `input`: nothing to run on",
            "send an `image` file, or give `input` in `spec`",
        )
    return _validate(model, body, "spec"), None, data
